/**
 * Producer ids unique across a cluster (Kafka's `/latest_producer_id_block`
 * znode, KIP-730's AllocateProducerIds): a broker claims a block of ids with
 * a compare-and-swap on the `producer-id-block` key and hands them out until
 * the block is used up. The next block is claimed in the background once
 * half of the current one is gone, so handing out an id (idempotent and
 * transactional producers alike, through `ProducerIds.delegateTo`) never
 * waits for etcd. A broker that stops loses the rest of its blocks; no id is
 * ever handed out twice.
 *
 * @module
 */
import { type Coordinator, decodeJson, encodeJson } from "./coordinator.ts";
import { KEYS, type ProducerIdBlock } from "./cluster_layout.ts";

/** Ids per claimed block (Kafka's PRODUCER_ID_BLOCK_SIZE). */
export const PRODUCER_ID_BLOCK_SIZE = 1000;
/** Compare-and-swap attempts before a claim gives up (others claiming at the same time). */
const CLAIM_ATTEMPTS_MAX = 20;

/** See the module doc. */
export class ProducerIdBlocks {
  readonly #coordinator: Coordinator;
  readonly #blockSize: number;
  readonly #onError: (error: unknown) => void;
  /** Blocks claimed by this process, in order: [first, end). */
  readonly #claimed: [number, number][] = [];
  /** Index in #claimed of the block ids come from now. */
  #current = -1;
  #next = 0;
  #claiming: Promise<void> | undefined;

  constructor(
    coordinator: Coordinator,
    options: { blockSize?: number; onError?: (error: unknown) => void } = {},
  ) {
    this.#coordinator = coordinator;
    this.#blockSize = options.blockSize ?? PRODUCER_ID_BLOCK_SIZE;
    this.#onError = options.onError ?? (() => {});
  }

  /** Claims the first block (the broker does before it serves clients). */
  async prefetch(): Promise<void> {
    if (this.#claimed.length === 0) await this.#claimOnce();
  }

  /** A producer id no other broker has or will hand out, waiting for a block if need be. */
  async next(): Promise<number> {
    while (!this.#hasId()) await this.#claimOnce();
    return this.nextSync();
  }

  /**
   * A producer id from the blocks already claimed; throws when they are used up and the next
   * has not come back from etcd yet (only when ids go faster than one etcd write per half block).
   */
  nextSync(): number {
    if (!this.#hasId()) {
      throw new Error("No producer id block is available yet: etcd has not answered the claim.");
    }
    if (this.#current < 0 || this.#next >= this.#claimed[this.#current][1]) {
      this.#current++;
      this.#next = this.#claimed[this.#current][0];
    }
    const id = this.#next++;
    const [, end] = this.#claimed[this.#current];
    const spare = this.#claimed.length - 1 > this.#current;
    if (!spare && end - this.#next < this.#blockSize / 2) {
      this.#claimOnce().catch(this.#onError);
    }
    return id;
  }

  /** Whether this process handed out `id` (an epoch bump may reuse it). */
  wasIssued(id: number): boolean {
    return this.#claimed.some(([first, end], i) =>
      i <= this.#current && id >= first && id < (i === this.#current ? this.#next : end)
    );
  }

  #hasId(): boolean {
    const inCurrent = this.#current >= 0 && this.#next < this.#claimed[this.#current][1];
    return inCurrent || this.#claimed.length - 1 > this.#current;
  }

  /** One claim at a time; callers share it. */
  #claimOnce(): Promise<void> {
    this.#claiming ??= this.#claim().finally(() => this.#claiming = undefined);
    return this.#claiming;
  }

  async #claim(): Promise<void> {
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS_MAX; attempt++) {
      const kv = await this.#coordinator.get(KEYS.producerIdBlock);
      const first = kv === undefined ? 0 : decodeJson<ProducerIdBlock>(kv.value).nextProducerId;
      const end = first + this.#blockSize;
      const result = await this.#coordinator.txn({
        compares: [
          kv === undefined
            ? { key: KEYS.producerIdBlock, target: "absent" }
            : { key: KEYS.producerIdBlock, target: "modRevision", equals: kv.modRevision },
        ],
        ops: [{
          op: "put",
          key: KEYS.producerIdBlock,
          value: encodeJson({ nextProducerId: end } satisfies ProducerIdBlock),
        }],
      });
      if (result.succeeded) {
        this.#claimed.push([first, end]);
        return;
      }
    }
    throw new Error(`Could not claim a producer id block in ${CLAIM_ATTEMPTS_MAX} attempts.`);
  }
}
