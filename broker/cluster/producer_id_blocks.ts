/**
 * Producer ids unique across a cluster (Kafka's `/latest_producer_id_block`
 * znode, KIP-730's AllocateProducerIds): a broker claims a block of ids with
 * a compare-and-swap on the `producer-id-block` key and hands them out until
 * the block is used up, then claims the next. A broker that stops loses the
 * rest of its block; no id is ever handed out twice.
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
  /** Blocks claimed by this process: [first, end). */
  readonly #claimed: [number, number][] = [];
  #next = 0;
  #end = 0;
  #claiming: Promise<void> | undefined;

  constructor(coordinator: Coordinator, blockSize = PRODUCER_ID_BLOCK_SIZE) {
    this.#coordinator = coordinator;
    this.#blockSize = blockSize;
  }

  /** A producer id no other broker has or will hand out. */
  async next(): Promise<number> {
    while (this.#next >= this.#end) {
      this.#claiming ??= this.#claim().finally(() => this.#claiming = undefined);
      await this.#claiming;
    }
    return this.#next++;
  }

  /** Whether this process handed out `id` (an epoch bump may reuse it). */
  wasIssued(id: number): boolean {
    // Every block but the last was used up; the last up to the next id.
    const last = this.#claimed.length - 1;
    return this.#claimed.some(([first, end], i) =>
      id >= first && id < (i === last ? this.#next : end)
    );
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
        this.#next = first;
        this.#end = end;
        return;
      }
    }
    throw new Error(`Could not claim a producer id block in ${CLAIM_ATTEMPTS_MAX} attempts.`);
  }
}
