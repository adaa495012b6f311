// deno-lint-ignore-file no-explicit-any -- one table of differently shaped requests and responses; each case reads its own answer
/**
 * Every API a client may call, sent raw by a principal without any ACL to a
 * broker with an authorizer: each answers Kafka's authorization error where
 * Kafka checks (TOPIC_, GROUP_, CLUSTER_ and TRANSACTIONAL_ID_AUTHORIZATION_FAILED),
 * and the same requests from a super user meet none. The principals are
 * real: the super user logs in (SASL/PLAIN), the other is ANONYMOUS on a
 * PLAINTEXT listener; so the suite runs against a Bun broker too
 * (`DENKA_TEST_RUNTIME=bun`).
 */
import { assert, assertEquals } from "../../util/assert.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import * as m from "../../protocol/messages/mod.ts";
import type { ApiMessage } from "../../protocol/messages/mod.ts";
import { defaultProduceRequest } from "../../protocol/messages/produce.ts";
import { defaultFetchRequest } from "../../protocol/messages/fetch.ts";
import { defaultListOffsetsRequestPartition } from "../../protocol/messages/list_offsets.ts";
import { defaultMetadataRequest } from "../../protocol/messages/metadata.ts";
import {
  defaultOffsetCommitRequest,
  defaultOffsetCommitRequestPartition,
} from "../../protocol/messages/offset_commit.ts";
import { defaultOffsetFetchRequest } from "../../protocol/messages/offset_fetch.ts";
import { defaultFindCoordinatorRequest } from "../../protocol/messages/find_coordinator.ts";
import { defaultJoinGroupRequest } from "../../protocol/messages/join_group.ts";
import { defaultHeartbeatRequest } from "../../protocol/messages/heartbeat.ts";
import { defaultSyncGroupRequest } from "../../protocol/messages/sync_group.ts";
import { defaultLeaveGroupRequest } from "../../protocol/messages/leave_group.ts";
import {
  defaultCreateTopicsRequest,
  defaultCreateTopicsRequestCreatableTopic,
} from "../../protocol/messages/create_topics.ts";
import { defaultDeleteTopicsRequest } from "../../protocol/messages/delete_topics.ts";
import {
  defaultCreatePartitionsRequest,
  defaultCreatePartitionsRequestTopic,
} from "../../protocol/messages/create_partitions.ts";
import { defaultDeleteRecordsRequest } from "../../protocol/messages/delete_records.ts";
import { defaultInitProducerIdRequest } from "../../protocol/messages/init_producer_id.ts";
import {
  defaultDescribeConfigsRequest,
  defaultDescribeConfigsRequestResource,
} from "../../protocol/messages/describe_configs.ts";
import {
  defaultAlterConfigsRequest,
  defaultAlterConfigsRequestResource,
} from "../../protocol/messages/alter_configs.ts";
import {
  defaultIncrementalAlterConfigsRequest,
  defaultIncrementalAlterConfigsRequestAlterConfigsResource,
} from "../../protocol/messages/incremental_alter_configs.ts";
import { defaultDescribeClientQuotasRequest } from "../../protocol/messages/describe_client_quotas.ts";
import {
  defaultAlterClientQuotasRequest,
  defaultAlterClientQuotasRequestEntryData,
} from "../../protocol/messages/alter_client_quotas.ts";
import { defaultElectLeadersRequest } from "../../protocol/messages/elect_leaders.ts";
import { defaultDescribeLogDirsRequest } from "../../protocol/messages/describe_log_dirs.ts";
import { defaultDescribeClusterRequest } from "../../protocol/messages/describe_cluster.ts";
import { defaultDescribeProducersRequest } from "../../protocol/messages/describe_producers.ts";
import { defaultDescribeGroupsRequest } from "../../protocol/messages/describe_groups.ts";
import { defaultListGroupsRequest } from "../../protocol/messages/list_groups.ts";
import { defaultDeleteGroupsRequest } from "../../protocol/messages/delete_groups.ts";
import { defaultOffsetDeleteRequest } from "../../protocol/messages/offset_delete.ts";
import { defaultAddPartitionsToTxnRequest } from "../../protocol/messages/add_partitions_to_txn.ts";
import { defaultAddOffsetsToTxnRequest } from "../../protocol/messages/add_offsets_to_txn.ts";
import { defaultEndTxnRequest } from "../../protocol/messages/end_txn.ts";
import { defaultTxnOffsetCommitRequest } from "../../protocol/messages/txn_offset_commit.ts";
import { defaultCreateAclsRequest } from "../../protocol/messages/create_acls.ts";
import { defaultDescribeAclsRequest } from "../../protocol/messages/describe_acls.ts";
import { defaultDeleteAclsRequest } from "../../protocol/messages/delete_acls.ts";
import { ZERO_UUID } from "../../protocol/primitives.ts";
import { plainMessage } from "../../broker/security/plain.ts";
import { withSaslBroker } from "./sasl_broker.ts";
import { RawConnection } from "./raw_client.ts";

const TOPIC = "t";
const GROUP = "g";
const { TOPIC_AUTHORIZATION_FAILED: T, GROUP_AUTHORIZATION_FAILED: G } = ErrorCode;
const { CLUSTER_AUTHORIZATION_FAILED: C, TRANSACTIONAL_ID_AUTHORIZATION_FAILED: X } = ErrorCode;
const AUTHORIZATION_ERRORS: readonly number[] = [T, G, C, X];

/** One request, and the error codes of its answer that authorization decides. */
interface Case<Req = unknown, Res = unknown> {
  readonly name: string;
  readonly api: ApiMessage<Req, Res>;
  readonly version: number;
  readonly body: Req;
  readonly codes: (res: Res) => number[];
  /** What a principal without ACLs gets. */
  readonly refused: number[];
}

function cases(): Case<any, any>[] {
  const partition0 = { partitionIndex: 0 };
  return [
    {
      name: "Produce",
      api: m.produceApi,
      version: 9,
      body: {
        ...defaultProduceRequest(),
        acks: -1,
        timeoutMs: 1000,
        topicData: [{
          name: TOPIC,
          topicId: ZERO_UUID,
          partitionData: [{ index: 0, records: null }],
        }],
      },
      codes: (r) =>
        r.responses.flatMap((t: any) => t.partitionResponses.map((p: any) => p.errorCode)),
      refused: [T],
    },
    {
      name: "Fetch",
      api: m.fetchApi,
      version: 12,
      body: {
        ...defaultFetchRequest(),
        maxWaitMs: 0,
        topics: [{
          topic: TOPIC,
          topicId: ZERO_UUID,
          partitions: [{
            partition: 0,
            currentLeaderEpoch: -1,
            fetchOffset: 0,
            lastFetchedEpoch: -1,
            logStartOffset: -1,
            partitionMaxBytes: 1024,
            replicaDirectoryId: ZERO_UUID,
          }],
        }],
      },
      codes: (r) => r.responses.flatMap((t: any) => t.partitions.map((p: any) => p.errorCode)),
      refused: [T],
    },
    {
      name: "ListOffsets",
      api: m.listOffsetsApi,
      version: 7,
      body: {
        replicaId: -1,
        isolationLevel: 0,
        topics: [{
          name: TOPIC,
          partitions: [{ ...defaultListOffsetsRequestPartition(), timestamp: -1 }],
        }],
        timeoutMs: 1000,
      },
      codes: (r) => r.topics.flatMap((t: any) => t.partitions.map((p: any) => p.errorCode)),
      refused: [T],
    },
    {
      name: "Metadata (named, and one that does not exist)",
      api: m.metadataApi,
      version: 12,
      body: {
        ...defaultMetadataRequest(),
        topics: [{ topicId: ZERO_UUID, name: TOPIC }, {
          topicId: ZERO_UUID,
          name: "no-such-topic",
        }],
        allowAutoTopicCreation: true,
      },
      codes: (r) => r.topics.map((t: any) => t.errorCode),
      refused: [T, T],
    },
    {
      name: "OffsetCommit",
      api: m.offsetCommitApi,
      version: 8,
      body: {
        ...defaultOffsetCommitRequest(),
        groupId: GROUP,
        generationIdOrMemberEpoch: -1,
        topics: [{
          name: TOPIC,
          topicId: ZERO_UUID,
          partitions: [{ ...defaultOffsetCommitRequestPartition(), committedOffset: 0 }],
        }],
      },
      codes: (r) => r.topics.flatMap((t: any) => t.partitions.map((p: any) => p.errorCode)),
      refused: [G],
    },
    {
      name: "OffsetFetch",
      api: m.offsetFetchApi,
      version: 8,
      body: {
        ...defaultOffsetFetchRequest(),
        groups: [{ groupId: GROUP, memberId: null, memberEpoch: -1, topics: null }],
      },
      codes: (r) => r.groups.map((g: any) => g.errorCode),
      refused: [G],
    },
    {
      name: "FindCoordinator (group)",
      api: m.findCoordinatorApi,
      version: 4,
      body: { ...defaultFindCoordinatorRequest(), keyType: 0, coordinatorKeys: [GROUP] },
      codes: (r) => r.coordinators.map((c: any) => c.errorCode),
      refused: [G],
    },
    {
      name: "FindCoordinator (transactional id)",
      api: m.findCoordinatorApi,
      version: 4,
      body: { ...defaultFindCoordinatorRequest(), keyType: 1, coordinatorKeys: ["tx"] },
      codes: (r) => r.coordinators.map((c: any) => c.errorCode),
      refused: [X],
    },
    {
      name: "JoinGroup",
      api: m.joinGroupApi,
      version: 5,
      body: {
        ...defaultJoinGroupRequest(),
        groupId: GROUP,
        sessionTimeoutMs: 10000,
        rebalanceTimeoutMs: 10000,
        protocolType: "consumer",
        protocols: [],
      },
      codes: (r) => [r.errorCode],
      refused: [G],
    },
    {
      name: "Heartbeat",
      api: m.heartbeatApi,
      version: 4,
      body: { ...defaultHeartbeatRequest(), groupId: GROUP, memberId: "m" },
      codes: (r) => [r.errorCode],
      refused: [G],
    },
    {
      name: "SyncGroup",
      api: m.syncGroupApi,
      version: 5,
      body: { ...defaultSyncGroupRequest(), groupId: GROUP, memberId: "m" },
      codes: (r) => [r.errorCode],
      refused: [G],
    },
    {
      name: "LeaveGroup",
      api: m.leaveGroupApi,
      version: 5,
      body: { ...defaultLeaveGroupRequest(), groupId: GROUP, members: [] },
      codes: (r) => [r.errorCode],
      refused: [G],
    },
    {
      name: "DescribeGroups",
      api: m.describeGroupsApi,
      version: 5,
      body: { ...defaultDescribeGroupsRequest(), groups: [GROUP] },
      codes: (r) => r.groups.map((g: any) => g.errorCode),
      refused: [G],
    },
    {
      name: "DeleteGroups",
      api: m.deleteGroupsApi,
      version: 2,
      body: { ...defaultDeleteGroupsRequest(), groupsNames: [GROUP] },
      codes: (r) => r.results.map((g: any) => g.errorCode),
      refused: [G],
    },
    {
      name: "OffsetDelete",
      api: m.offsetDeleteApi,
      version: 0,
      body: {
        ...defaultOffsetDeleteRequest(),
        groupId: GROUP,
        topics: [{ name: TOPIC, partitions: [partition0] }],
      },
      codes: (r) => [r.errorCode],
      refused: [G],
    },
    {
      name: "CreateTopics",
      api: m.createTopicsApi,
      version: 7,
      body: {
        ...defaultCreateTopicsRequest(),
        topics: [{
          ...defaultCreateTopicsRequestCreatableTopic(),
          name: "new-topic",
          numPartitions: 1,
          replicationFactor: 1,
        }],
        validateOnly: true,
      },
      codes: (r) => r.topics.map((t: any) => t.errorCode),
      refused: [T],
    },
    {
      name: "DeleteTopics",
      api: m.deleteTopicsApi,
      version: 5,
      body: { ...defaultDeleteTopicsRequest(), topicNames: ["no-such-topic"] },
      codes: (r) => r.responses.map((t: any) => t.errorCode),
      refused: [T],
    },
    {
      name: "CreatePartitions",
      api: m.createPartitionsApi,
      version: 3,
      body: {
        ...defaultCreatePartitionsRequest(),
        topics: [{ ...defaultCreatePartitionsRequestTopic(), name: TOPIC, count: 2 }],
        validateOnly: true,
      },
      codes: (r) => r.results.map((t: any) => t.errorCode),
      refused: [T],
    },
    {
      name: "DeleteRecords",
      api: m.deleteRecordsApi,
      version: 2,
      body: {
        ...defaultDeleteRecordsRequest(),
        topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, offset: 0 }] }],
      },
      codes: (r) => r.topics.flatMap((t: any) => t.partitions.map((p: any) => p.errorCode)),
      refused: [T],
    },
    {
      name: "InitProducerId (idempotent)",
      api: m.initProducerIdApi,
      version: 4,
      body: { ...defaultInitProducerIdRequest(), transactionalId: null },
      codes: (r) => [r.errorCode],
      refused: [C],
    },
    {
      name: "DescribeConfigs (topic, broker)",
      api: m.describeConfigsApi,
      version: 4,
      body: {
        ...defaultDescribeConfigsRequest(),
        resources: [
          { ...defaultDescribeConfigsRequestResource(), resourceType: 2, resourceName: TOPIC },
          { ...defaultDescribeConfigsRequestResource(), resourceType: 4, resourceName: "0" },
        ],
      },
      codes: (r) => r.results.map((x: any) => x.errorCode),
      refused: [T, C],
    },
    {
      name: "AlterConfigs (topic, broker)",
      api: m.alterConfigsApi,
      version: 2,
      body: {
        ...defaultAlterConfigsRequest(),
        validateOnly: true,
        resources: [
          { ...defaultAlterConfigsRequestResource(), resourceType: 2, resourceName: TOPIC },
          { ...defaultAlterConfigsRequestResource(), resourceType: 4, resourceName: "0" },
        ],
      },
      codes: (r) => r.responses.map((x: any) => x.errorCode),
      refused: [T, C],
    },
    {
      name: "IncrementalAlterConfigs (topic, broker logger)",
      api: m.incrementalAlterConfigsApi,
      version: 1,
      body: {
        ...defaultIncrementalAlterConfigsRequest(),
        validateOnly: true,
        resources: [
          {
            ...defaultIncrementalAlterConfigsRequestAlterConfigsResource(),
            resourceType: 2,
            resourceName: TOPIC,
          },
          {
            ...defaultIncrementalAlterConfigsRequestAlterConfigsResource(),
            resourceType: 8,
            resourceName: "0",
          },
        ],
      },
      codes: (r) => r.responses.map((x: any) => x.errorCode),
      refused: [T, C],
    },
    {
      name: "DescribeClientQuotas",
      api: m.describeClientQuotasApi,
      version: 1,
      body: { ...defaultDescribeClientQuotasRequest(), components: [] },
      codes: (r) => [r.errorCode],
      refused: [C],
    },
    {
      name: "AlterClientQuotas",
      api: m.alterClientQuotasApi,
      version: 1,
      body: {
        ...defaultAlterClientQuotasRequest(),
        validateOnly: true,
        entries: [{
          ...defaultAlterClientQuotasRequestEntryData(),
          entity: [{ entityType: "client-id", entityName: "c" }],
          ops: [],
        }],
      },
      codes: (r) => r.entries.map((e: any) => e.errorCode),
      refused: [C],
    },
    {
      name: "ElectLeaders",
      api: m.electLeadersApi,
      version: 2,
      body: {
        ...defaultElectLeadersRequest(),
        topicPartitions: [{ topic: TOPIC, partitions: [0] }],
      },
      codes: (r) => [r.errorCode],
      refused: [C],
    },
    {
      name: "ElectLeaders (all partitions)",
      api: m.electLeadersApi,
      version: 2,
      body: { ...defaultElectLeadersRequest(), topicPartitions: null },
      codes: (r) => [r.errorCode],
      refused: [C],
    },
    {
      name: "DescribeLogDirs",
      api: m.describeLogDirsApi,
      version: 4,
      body: { ...defaultDescribeLogDirsRequest(), topics: null },
      codes: (r) => [r.errorCode],
      refused: [C],
    },
    {
      name: "DescribeProducers",
      api: m.describeProducersApi,
      version: 0,
      body: {
        ...defaultDescribeProducersRequest(),
        topics: [{ name: TOPIC, partitionIndexes: [0] }],
      },
      codes: (r) => r.topics.flatMap((t: any) => t.partitions.map((p: any) => p.errorCode)),
      refused: [T],
    },
    {
      name: "CreateAcls",
      api: m.createAclsApi,
      version: 3,
      body: {
        ...defaultCreateAclsRequest(),
        creations: [{
          resourceType: 2,
          resourceName: TOPIC,
          resourcePatternType: 3,
          principal: "User:x",
          host: "*",
          operation: 3,
          permissionType: 3,
        }],
      },
      codes: (r) => r.results.map((x: any) => x.errorCode),
      refused: [C],
    },
    {
      name: "DescribeAcls",
      api: m.describeAclsApi,
      version: 3,
      body: {
        ...defaultDescribeAclsRequest(),
        resourceTypeFilter: 1,
        patternTypeFilter: 1,
        operation: 1,
        permissionType: 1,
      },
      codes: (r) => [r.errorCode],
      refused: [C],
    },
    {
      name: "DeleteAcls",
      api: m.deleteAclsApi,
      version: 3,
      body: {
        ...defaultDeleteAclsRequest(),
        filters: [{
          resourceTypeFilter: 2,
          resourceNameFilter: "nothing-matches",
          patternTypeFilter: 1,
          principalFilter: null,
          hostFilter: null,
          operation: 1,
          permissionType: 1,
        }],
      },
      codes: (r) => r.filterResults.map((x: any) => x.errorCode),
      refused: [C],
    },
    {
      name: "AddPartitionsToTxn",
      api: m.addPartitionsToTxnApi,
      version: 3,
      body: {
        ...defaultAddPartitionsToTxnRequest(),
        v3AndBelowTransactionalId: "tx",
        v3AndBelowTopics: [{ name: TOPIC, partitions: [0] }],
      },
      codes: (r) =>
        r.resultsByTopicV3AndBelow.flatMap((t: any) =>
          t.resultsByPartition.map((p: any) => p.partitionErrorCode)
        ),
      refused: [X],
    },
    {
      name: "AddOffsetsToTxn",
      api: m.addOffsetsToTxnApi,
      version: 3,
      body: { ...defaultAddOffsetsToTxnRequest(), transactionalId: "tx", groupId: GROUP },
      codes: (r) => [r.errorCode],
      refused: [X],
    },
    {
      name: "EndTxn",
      api: m.endTxnApi,
      version: 3,
      body: { ...defaultEndTxnRequest(), transactionalId: "tx" },
      codes: (r) => [r.errorCode],
      refused: [X],
    },
    {
      name: "TxnOffsetCommit",
      api: m.txnOffsetCommitApi,
      version: 3,
      body: {
        ...defaultTxnOffsetCommitRequest(),
        transactionalId: "tx",
        groupId: GROUP,
        topics: [{
          name: TOPIC,
          partitions: [{
            partitionIndex: 0,
            committedOffset: 0,
            committedLeaderEpoch: -1,
            committedMetadata: null,
          }],
        }],
      },
      codes: (r) => r.topics.flatMap((t: any) => t.partitions.map((p: any) => p.errorCode)),
      refused: [X],
    },
    {
      name: "DescribeTransactions",
      api: m.describeTransactionsApi,
      version: 0,
      body: { transactionalIds: ["tx"] },
      codes: (r) => r.transactionStates.map((t: any) => t.errorCode),
      refused: [X],
    },
    {
      name: "WriteTxnMarkers",
      api: m.writeTxnMarkersApi,
      version: 1,
      body: {
        markers: [{
          producerId: 1,
          producerEpoch: 0,
          transactionResult: false,
          topics: [{ name: TOPIC, partitionIndexes: [0] }],
          coordinatorEpoch: 0,
        }],
      },
      codes: (r) =>
        r.markers.flatMap((x: any) =>
          x.topics.flatMap((t: any) => t.partitions.map((p: any) => p.errorCode))
        ),
      refused: [C],
    },
  ];
}

/** A SASL/PLAIN login over SaslHandshake v1 + SaslAuthenticate v2. */
async function plainLogin(c: RawConnection, user: string, password: string): Promise<void> {
  const handshake = await c.request(m.saslHandshakeApi, 1, { mechanism: "PLAIN" });
  assertEquals(handshake.errorCode, ErrorCode.NONE);
  const auth = await c.request(m.saslAuthenticateApi, 2, {
    authBytes: plainMessage(user, password),
  });
  assertEquals(auth.errorCode, ErrorCode.NONE);
}

Deno.test("every API refuses a principal without ACLs with Kafka's error, and a super user passes", async () => {
  // bob logs in on the SASL listener and is the super user; nobody is ANONYMOUS on PLAINTEXT.
  await withSaslBroker({
    authorizer: "acl",
    "super-users": "User:bob",
    "log-level": "error",
  }, async (t) => {
    const plaintext = t.listeners.find((l) => l.securityProtocol === "PLAINTEXT")!;
    const nobody = await RawConnection.connect(`${plaintext.hostname}:${plaintext.port}`, "nobody");
    const admin = await RawConnection.connect(t.bootstrap, "admin-client");
    try {
      await plainLogin(admin, "bob", "bob-secret");
      await everyApi(nobody, admin);
    } finally {
      nobody.close();
      admin.close();
    }
  });
});

/** The checks of the test above, `nobody` without ACLs and `admin` a super user. */
async function everyApi(nobody: RawConnection, admin: RawConnection): Promise<void> {
  const created = await admin.request(m.createTopicsApi, 7, {
    ...defaultCreateTopicsRequest(),
    topics: [{
      ...defaultCreateTopicsRequestCreatableTopic(),
      name: TOPIC,
      numPartitions: 1,
      replicationFactor: 1,
    }],
  });
  assertEquals(created.topics[0].errorCode, ErrorCode.NONE);
  for (const c of cases()) {
    const refused = c.codes(await nobody.request(c.api, c.version, c.body));
    assertEquals(refused, c.refused, c.name);
    const allowed = c.codes(await admin.request(c.api, c.version, c.body));
    assert(
      allowed.every((code) => !AUTHORIZATION_ERRORS.includes(code)),
      `${c.name} refused the super user: ${allowed}`,
    );
  }
  // What Kafka filters instead of refusing: the topic list, the group list, cluster operations.
  const all = await nobody.request(m.metadataApi, 12, {
    ...defaultMetadataRequest(),
    topics: null,
  });
  assertEquals(all.topics, []);
  const adminAll = await admin.request(m.metadataApi, 12, {
    ...defaultMetadataRequest(),
    topics: null,
  });
  assertEquals(adminAll.topics.map((t) => t.name), [TOPIC]);
  const commit = cases().find((c) => c.api === m.offsetCommitApi)!;
  await admin.request(commit.api, commit.version, commit.body); // DeleteGroups removed g
  const groups = await nobody.request(m.listGroupsApi, 4, defaultListGroupsRequest());
  assertEquals(groups.groups, []);
  const adminGroups = await admin.request(m.listGroupsApi, 4, defaultListGroupsRequest());
  assertEquals(adminGroups.groups.map((g) => g.groupId), [GROUP], "the admin's commit made g");
  const cluster = await nobody.request(m.describeClusterApi, 1, {
    ...defaultDescribeClusterRequest(),
    includeClusterAuthorizedOperations: true,
  });
  assertEquals([cluster.errorCode, cluster.clusterAuthorizedOperations], [ErrorCode.NONE, 0]);
  const adminCluster = await admin.request(m.describeClusterApi, 1, {
    ...defaultDescribeClusterRequest(),
    includeClusterAuthorizedOperations: true,
  });
  assert(adminCluster.clusterAuthorizedOperations > 0);
}
