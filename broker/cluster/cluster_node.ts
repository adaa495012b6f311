/**
 * One broker's membership of a cluster: it waits for etcd (logging each
 * retry), registers itself under a leased `brokers/ids/<id>` key (a second
 * broker with the same id is refused), follows the metadata with a
 * {@linkcode MetadataCache}, keeps its partition logs in step
 * ({@linkcode LocalReplicas}), and campaigns to be the controller for as
 * long as its lease lives. A lost lease (etcd unreachable for a whole
 * session timeout) ends its controllership and it registers again with a
 * new lease, hence a new registration epoch.
 *
 * @module
 */
import type { Logger } from "../../util/log.ts";
import { errorText } from "../../util/background.ts";
import type { HostPort } from "../config.ts";
import {
  type Coordinator,
  CoordinatorError,
  decodeJson,
  encodeJson,
  encodeText,
  type Lease,
} from "./coordinator.ts";
import {
  type BrokerRegistration,
  CONTROLLER_ELECTION,
  KEYS,
  type ListenerRecord,
} from "./cluster_layout.ts";
import { MetadataCache, pause } from "./metadata_cache.ts";
import { Controller, type LeaderRebalanceSettings } from "./controller.ts";
import { LocalReplicas, type LocalTopicStore } from "./local_replicas.ts";
import { ClusterIsrWriter } from "./cluster_isr_writer.ts";
import { ProducerIdBlocks } from "./producer_id_blocks.ts";
import { ClusterAdminClient } from "./cluster_admin_client.ts";
import type { IsrWriter, PartitionStateSink } from "./partition_state.ts";

/** The first pause between attempts to reach etcd; doubled up to the maximum. */
export const COORDINATOR_RETRY_MIN_MS = 250;
export const COORDINATOR_RETRY_MAX_MS = 5_000;
/** The longest {@linkcode ClusterNode.close} waits for each of its background tasks to end. */
export const CLOSE_STEP_TIMEOUT_MS = 5_000;

/** Options of {@linkcode ClusterNode.start}. */
export interface ClusterNodeOptions {
  readonly coordinator: Coordinator;
  readonly nodeId: number;
  readonly rack: string | undefined;
  /** The address other brokers connect to (the inter-broker listener's advertised address). */
  readonly advertised: () => HostPort;
  /** Every listener's advertised address (default: `advertised()` as PLAINTEXT). */
  readonly listeners?: () => readonly ListenerRecord[];
  /** Kafka's broker.session.timeout.ms: the registration lease's TTL. */
  readonly sessionTimeoutMs: number;
  readonly topics: LocalTopicStore;
  readonly logger: Logger;
  /** The broker's default of `unclean.leader.election.enable`. */
  readonly uncleanDefault: () => boolean;
  readonly rebalance: LeaderRebalanceSettings;
  /** Makes the replica manager (given the ISR writer it is to use), when there is one. */
  readonly sinkFor?: (isrWriter: IsrWriter) => PartitionStateSink;
}

/** A registration refused because another broker holds the id. */
export class DuplicateBrokerIdError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DuplicateBrokerIdError";
  }
}

/** See the module doc. */
export class ClusterNode {
  readonly cache: MetadataCache;
  readonly isrWriter: ClusterIsrWriter;
  readonly producerIds: ProducerIdBlocks;
  readonly admin: ClusterAdminClient;
  readonly nodeId: number;
  readonly coordinator: Coordinator;
  /** The controller while this broker is it. */
  controller: Controller | undefined;
  /** Times this broker registered (1 + re-registrations after a lost lease). */
  registrationCount = 0;
  readonly #options: ClusterNodeOptions;
  readonly #logger: Logger;
  readonly #closing = new AbortController();
  #lease: Lease | undefined;
  #session: Promise<void> | undefined;
  #closed: Promise<void> | undefined;

  private constructor(options: ClusterNodeOptions) {
    this.#options = options;
    this.nodeId = options.nodeId;
    this.coordinator = options.coordinator;
    this.#logger = options.logger;
    this.cache = new MetadataCache(options.coordinator, options.logger.child("metadata"));
    this.isrWriter = new ClusterIsrWriter(options.coordinator, this.cache);
    this.producerIds = new ProducerIdBlocks(options.coordinator, {
      onError: (error) => options.logger.warn(`Claiming producer ids failed: ${errorText(error)}`),
    });
    this.admin = new ClusterAdminClient(options.coordinator, this.cache);
  }

  /**
   * Waits for etcd, registers (refused for an id in use, before anything else is done), loads
   * the metadata, and starts campaigning.
   */
  static async start(options: ClusterNodeOptions): Promise<ClusterNode> {
    const node = new ClusterNode(options);
    try {
      await node.#waitForCoordinator();
      node.#lease = await node.#register();
    } catch (error) {
      await options.coordinator.close();
      throw error;
    }
    const replicas = new LocalReplicas(node.cache, options.topics, {
      nodeId: options.nodeId,
      logger: options.logger.child("replicas"),
      sink: options.sinkFor?.(node.isrWriter),
    });
    node.cache.onChange((change) => replicas.apply(change));
    try {
      await node.cache.start();
      await node.producerIds.prefetch();
    } catch (error) {
      await options.coordinator.revokeLease(node.#lease).catch(() => {});
      await options.coordinator.close();
      throw error;
    }
    node.#session = node.#runSessions(node.#lease);
    return node;
  }

  /**
   * The longest pause between attempts once registered: at most half a session, so a broker
   * that lost its session is back well within the next one.
   */
  get #retryMaxMs(): number {
    return Math.min(
      COORDINATOR_RETRY_MAX_MS,
      Math.max(COORDINATOR_RETRY_MIN_MS, this.#options.sessionTimeoutMs / 2),
    );
  }

  /** The lease the registration (and candidacy) hangs on. */
  get lease(): Lease | undefined {
    return this.#lease;
  }

  /** Leaves the cluster: resigns as controller, revokes the lease (the registration goes at once). */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    this.#closing.abort();
    const controller = this.controller;
    controller?.stop();
    try {
      if (controller !== undefined) await this.coordinator.resign(controller.leadership);
      if (this.#lease !== undefined) await this.coordinator.revokeLease(this.#lease);
    } catch (error) {
      if (!(error instanceof CoordinatorError)) throw error;
      this.#logger.warn(`Leaving the cluster cleanly failed: ${errorText(error)}`);
    }
    await this.#bounded("the controller campaign", this.#session);
    await this.#bounded("the metadata watch", this.cache.close());
    await this.coordinator.close(); // ends every call and stream still open
  }

  /**
   * Waits for one step of {@linkcode close} at most {@linkcode CLOSE_STEP_TIMEOUT_MS}: a step
   * that hangs (an etcd stream the runtime does not end) must not keep the broker from stopping.
   */
  async #bounded(what: string, step: Promise<void> | undefined): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finished = await Promise.race([
      (step ?? Promise.resolve()).then(() => true),
      new Promise<false>((resolve) =>
        timer = setTimeout(() => resolve(false), CLOSE_STEP_TIMEOUT_MS)
      ),
    ]).finally(() => clearTimeout(timer));
    if (!finished) {
      this.#logger.warn(
        `Leaving the cluster: ${what} had not ended ${CLOSE_STEP_TIMEOUT_MS} ms after close; going on.`,
      );
    }
  }

  async #waitForCoordinator(): Promise<void> {
    let delayMs = COORDINATOR_RETRY_MIN_MS;
    for (let attempt = 1;; attempt++) {
      try {
        await this.coordinator.get(KEYS.producerIdBlock);
        if (attempt > 1) this.#logger.info(`Reached the coordinator after ${attempt} attempts.`);
        return;
      } catch (error) {
        if (!(error instanceof CoordinatorError) || this.#closing.signal.aborted) throw error;
        this.#logger.warn(
          `Waiting for the coordinator (attempt ${attempt}: ${error.message}); next try in ${delayMs} ms.`,
        );
        await pause(delayMs, this.#closing.signal);
        delayMs = Math.min(delayMs * 2, COORDINATOR_RETRY_MAX_MS);
      }
    }
  }

  /** Registers under a fresh lease; refuses when another broker holds the id. */
  async #register(): Promise<Lease> {
    const { coordinator, nodeId, rack, sessionTimeoutMs } = this.#options;
    const { hostname, port } = this.#options.advertised();
    const lease = await coordinator.grantLease(sessionTimeoutMs);
    const registration: BrokerRegistration = {
      nodeId,
      host: hostname,
      port,
      rack: rack ?? null,
      listeners: this.#options.listeners?.() ??
        [{ name: "PLAINTEXT", host: hostname, port, securityProtocol: "PLAINTEXT" }],
      registeredAtMs: Date.now(),
    };
    const key = `${KEYS.brokers}${nodeId}`;
    const result = await coordinator.txn({
      compares: [{ key, target: "absent" }],
      ops: [{ op: "put", key, value: encodeJson(registration), leaseId: lease.id }],
    });
    if (!result.succeeded) {
      await coordinator.revokeLease(lease);
      const holder = result.current[0];
      const other = holder === undefined ? undefined : decodeJson<BrokerRegistration>(holder.value);
      throw new DuplicateBrokerIdError(
        `Broker id ${nodeId} is already registered by ${other?.host}:${other?.port} (registration epoch ${holder?.createRevision}); is another broker running with node.id=${nodeId}?`,
      );
    }
    this.registrationCount++;
    this.#logger.info(
      `Registered broker ${nodeId} at ${hostname}:${port}${
        rack ? ` (rack ${rack})` : ""
      }, registration epoch ${result.revision}, session ${lease.ttlMs} ms.`,
    );
    return lease;
  }

  /** Campaigns while the lease lives; after a lost lease, registers again and goes on. */
  async #runSessions(first: Lease): Promise<void> {
    let lease = first;
    const closing = this.#closing.signal;
    while (!closing.aborted) {
      const candidacy = new AbortController();
      const campaigning = this.#campaign(lease, candidacy.signal);
      const ended = await Promise.race([
        lease.lost.then((lost) => lost.message),
        new Promise<undefined>((resolve) =>
          closing.addEventListener("abort", () => resolve(undefined), { once: true })
        ),
      ]);
      candidacy.abort();
      this.controller?.stop();
      await campaigning;
      if (closing.aborted || ended === undefined) return;
      this.#logger.warn(`Lost the cluster session (${ended}); registering again.`);
      const next = await this.#registerAgain(lease);
      if (next === undefined) return;
      lease = next;
      this.#lease = next;
    }
  }

  /**
   * Registers under a new lease. The lost one is revoked first: this broker may have given up
   * on it while etcd still holds it (etcd was away for a whole TTL and renews leases when it
   * comes back), and its registration and candidacy would block the new ones until it expired.
   */
  async #registerAgain(lost: Lease): Promise<Lease | undefined> {
    let delayMs = COORDINATOR_RETRY_MIN_MS;
    while (!this.#closing.signal.aborted) {
      try {
        await this.coordinator.revokeLease(lost);
        return await this.#register();
      } catch (error) {
        if (!(error instanceof CoordinatorError || error instanceof DuplicateBrokerIdError)) {
          throw error;
        }
        this.#logger.warn(
          `Registering again failed (${error.message}); next try in ${delayMs} ms.`,
        );
        await pause(delayMs, this.#closing.signal);
        delayMs = Math.min(delayMs * 2, this.#retryMaxMs);
      }
    }
    return undefined;
  }

  /** Campaigns, controls while elected, and campaigns again when deposed. */
  async #campaign(lease: Lease, signal: AbortSignal): Promise<void> {
    const { coordinator, nodeId } = this.#options;
    let delayMs = COORDINATOR_RETRY_MIN_MS;
    while (!signal.aborted && !lease.isLost) {
      let leadership;
      try {
        leadership = await coordinator.campaign(
          CONTROLLER_ELECTION,
          encodeText(String(nodeId)),
          lease,
          {
            signal,
          },
        );
      } catch (error) {
        if (signal.aborted || lease.isLost) return;
        if (!(error instanceof CoordinatorError)) throw error;
        this.#logger.warn(
          `Controller campaign failed (${error.message}); next try in ${delayMs} ms.`,
        );
        await pause(delayMs, signal);
        delayMs = Math.min(delayMs * 2, this.#retryMaxMs);
        continue;
      }
      delayMs = COORDINATOR_RETRY_MIN_MS;
      const controller = new Controller(leadership, {
        coordinator,
        cache: this.cache,
        nodeId,
        logger: this.#logger.child("controller"),
        uncleanAllowed: (configs) => {
          const value = configs["unclean.leader.election.enable"];
          return value === undefined ? this.#options.uncleanDefault() : value === "true";
        },
        rebalance: this.#options.rebalance,
      });
      this.controller = controller;
      controller.start();
      await Promise.race([
        controller.deposed,
        lease.lost,
        new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true })),
      ]);
      controller.stop();
      if (this.controller === controller) this.controller = undefined;
    }
  }
}
