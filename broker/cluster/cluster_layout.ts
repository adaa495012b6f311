/**
 * Where a Denka cluster keeps its metadata in etcd: Kafka's ZooKeeper layout
 * (`/brokers/ids`, `/brokers/topics`, `.../partitions/N/state`,
 * `/admin/delete_topics`, `/controller`, `/latest_producer_id_block`) mapped
 * onto keys relative to the coordinator's root prefix, with one JSON value
 * per key.
 *
 * | key                              | value                                          |
 * | -------------------------------- | ---------------------------------------------- |
 * | `brokers/ids/<id>` (leased)      | {@linkcode BrokerRegistration}                 |
 * | `controller/<lease hex>`         | election candidates; value: the node id        |
 * | `topics/<name>`                  | {@linkcode TopicRecord} (id, assignment, configs) |
 * | `partitions/<topic>/<p>`         | {@linkcode PartitionRecord}; CAS on mod_revision |
 * | `admin/create-topics/<name>`     | {@linkcode CreateTopicRequest} (or its failure) |
 * | `admin/create-partitions/<name>` | {@linkcode CreatePartitionsRequest}            |
 * | `admin/delete-topics/<name>`     | `{}`: the topic is being deleted               |
 * | `admin/alter-configs/<name>`     | {@linkcode AlterConfigsRequest}                |
 * | `admin/elect-leaders/<id>`       | {@linkcode ElectLeadersRequest}                |
 * | `admin/reassign-requests/<t>/<p>` | {@linkcode ReassignRequest}                   |
 * | `admin/reassignments/<t>/<p>`    | {@linkcode OngoingReassignment}                |
 * | `producer-id-block`              | {@linkcode ProducerIdBlock}; CAS on mod_revision |
 *
 * A broker's registration epoch is its key's create revision; the controller
 * epoch is the create revision of the winning election key; a partition's
 * partition epoch (the compare-and-swap version) is its key's mod revision.
 *
 * @module
 */

/** The election the controller is chosen by. */
export const CONTROLLER_ELECTION = "controller";

/** Key prefixes, relative to the root prefix. */
export const KEYS = {
  brokers: "brokers/ids/",
  controller: `${CONTROLLER_ELECTION}/`,
  topics: "topics/",
  partitions: "partitions/",
  createTopics: "admin/create-topics/",
  createPartitions: "admin/create-partitions/",
  deleteTopics: "admin/delete-topics/",
  alterConfigs: "admin/alter-configs/",
  electLeaders: "admin/elect-leaders/",
  reassignRequests: "admin/reassign-requests/",
  reassignments: "admin/reassignments/",
  producerIdBlock: "producer-id-block",
} as const;

/** One listener of a registered broker. */
export interface ListenerRecord {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly securityProtocol: string;
}

/** `brokers/ids/<id>`: a live broker (the key is attached to its lease). */
export interface BrokerRegistration {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
  readonly listeners: readonly ListenerRecord[];
  /** When the broker registered (wall clock, informational). */
  readonly registeredAtMs: number;
}

/** `topics/<name>`: what the controller decided when it created the topic. */
export interface TopicRecord {
  /** The topic id (a UUID), the same on every broker. */
  readonly id: string;
  /** Replicas of each partition by index, the preferred leader first. */
  readonly assignment: readonly (readonly number[])[];
  /** Topic config overrides by Kafka name. */
  readonly configs: Readonly<Record<string, string>>;
}

/** `partitions/<topic>/<p>`: Kafka's LeaderAndIsr, with the epoch of the controller that wrote it. */
export interface PartitionRecord {
  /** -1: no leader (offline). */
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly isr: readonly number[];
  readonly controllerEpoch: number;
}

/** `admin/create-topics/<name>`: a topic asked for through any broker. */
export interface CreateTopicRequest {
  readonly partitions: number;
  readonly replicationFactor: number;
  /** Manual replica assignment by partition index, or null for the controller's. */
  readonly assignment: readonly (readonly number[])[] | null;
  readonly configs: Readonly<Record<string, string>>;
  /** Set by the controller when it refused the request. */
  readonly error?: { readonly code: number; readonly message: string };
}

/** `admin/create-partitions/<name>`: raise a topic's partition count. */
export interface CreatePartitionsRequest {
  readonly count: number;
  /** Replicas of each new partition, or null for the controller's. */
  readonly assignment: readonly (readonly number[])[] | null;
  readonly error?: { readonly code: number; readonly message: string };
}

/** `admin/alter-configs/<name>`: a topic's complete new config overrides. */
export interface AlterConfigsRequest {
  readonly configs: Readonly<Record<string, string>>;
  readonly error?: { readonly code: number; readonly message: string };
}

/** `admin/elect-leaders/<id>`: KIP-460 elections asked for through any broker. */
export interface ElectLeadersRequest {
  /** 0 preferred, 1 unclean. */
  readonly electionType: number;
  readonly partitions: readonly { readonly topic: string; readonly partition: number }[];
}

/** `admin/reassign-requests/<topic>/<p>`: AlterPartitionReassignments asked through any broker. */
export interface ReassignRequest {
  /** The target replicas, or null to cancel the partition's ongoing reassignment. */
  readonly replicas: readonly number[] | null;
  readonly error?: { readonly code: number; readonly message: string };
}

/**
 * `admin/reassignments/<topic>/<p>`: a reassignment under way (Kafka's KIP-455 adding and
 * removing replicas); the topic's assignment holds the union of both sets meanwhile.
 */
export interface OngoingReassignment {
  readonly targetReplicas: readonly number[];
  readonly originalReplicas: readonly number[];
}

/** `producer-id-block`: the first producer id no broker has taken yet. */
export interface ProducerIdBlock {
  readonly nextProducerId: number;
}

/** The key of a partition's state. */
export function partitionStateKey(topic: string, partition: number): string {
  return `${KEYS.partitions}${topic}/${partition}`;
}

/** Topic and partition of a `partitions/<topic>/<p>` key (topic names hold no "/"). */
export function parsePartitionStateKey(
  key: string,
): { topic: string; partition: number } | undefined {
  if (!key.startsWith(KEYS.partitions)) return undefined;
  const rest = key.slice(KEYS.partitions.length);
  const slash = rest.lastIndexOf("/");
  const partition = Number(rest.slice(slash + 1));
  if (slash <= 0 || !Number.isInteger(partition) || partition < 0) return undefined;
  return { topic: rest.slice(0, slash), partition };
}
