/**
 * The {@linkcode IsrWriter} of a cluster: a partition's leader writes its
 * new ISR itself (Kafka's ZooKeeper-era leader, fenced by the znode's
 * zkVersion) as a compare-and-swap on the partition state key's mod
 * revision. A write that finds the key moved (a new leader, a new epoch, or
 * the controller's own ISR change) is refused, and the leader waits for the
 * state the metadata cache brings next.
 *
 * @module
 */
import { type Coordinator, encodeJson } from "./coordinator.ts";
import { type PartitionRecord, partitionStateKey } from "./cluster_layout.ts";
import type { MetadataCache } from "./metadata_cache.ts";
import type { IsrWriter, PartitionState } from "./partition_state.ts";

/** See the module doc. */
export class ClusterIsrWriter implements IsrWriter {
  readonly #coordinator: Coordinator;
  readonly #cache: MetadataCache;
  /** ISR writes refused because the partition had moved on. */
  refusedCount = 0;

  constructor(coordinator: Coordinator, cache: MetadataCache) {
    this.#coordinator = coordinator;
    this.#cache = cache;
  }

  async alterIsr(
    state: PartitionState,
    newIsr: readonly number[],
  ): Promise<PartitionState | undefined> {
    const cached = this.#cache.partitions.get(`${state.topic}/${state.partition}`);
    const controllerEpoch = cached?.modRevision === state.partitionEpoch
      ? cached.record.controllerEpoch
      : undefined;
    if (controllerEpoch === undefined || cached!.record.leaderEpoch !== state.leaderEpoch) {
      this.refusedCount++;
      return undefined;
    }
    const key = partitionStateKey(state.topic, state.partition);
    const record: PartitionRecord = {
      leader: state.leader,
      leaderEpoch: state.leaderEpoch,
      isr: [...newIsr],
      controllerEpoch,
    };
    const result = await this.#coordinator.txn({
      compares: [{ key, target: "modRevision", equals: state.partitionEpoch }],
      ops: [{ op: "put", key, value: encodeJson(record) }],
    });
    if (!result.succeeded) {
      this.refusedCount++;
      return undefined;
    }
    return { ...state, isr: [...newIsr], partitionEpoch: result.revision };
  }
}
