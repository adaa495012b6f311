/**
 * Producer ids unique across restarts: blocks of ids are reserved in
 * `<dataDir>/denka-producer-ids` (written atomically) before any id of the
 * block is handed out, so a crash can skip ids but never repeat one.
 *
 * @module
 */
import { Errno, IoError, type Libc } from "../ffi/port.ts";

/** Ids reserved per write of the block file. */
export const PRODUCER_ID_BLOCK_SIZE = 1000;

/** Where a cluster's producer ids come from instead (`cluster/producer_id_blocks.ts`). */
export interface ProducerIdSource {
  nextSync(): number;
  wasIssued(id: number): boolean;
}

/** Hands out producer ids. */
export class ProducerIds {
  #cluster: ProducerIdSource | undefined;
  readonly #libc: Libc;
  readonly #path: string;
  readonly #firstIssuedThisRun: number;
  #next: number;
  #blockEnd: number;

  constructor(libc: Libc, dataDir: string) {
    this.#libc = libc;
    this.#path = `${dataDir}/denka-producer-ids`;
    let reserved = 0;
    try {
      reserved = Number(new TextDecoder().decode(libc.readFile(this.#path)).trim());
      if (!Number.isSafeInteger(reserved) || reserved < 0) {
        throw new Error(`Corrupt producer id file "${this.#path}".`);
      }
    } catch (e) {
      if (!(e instanceof IoError && e.errno === Errno.ENOENT)) throw e;
    }
    this.#next = reserved;
    this.#blockEnd = reserved;
    this.#firstIssuedThisRun = reserved;
  }

  /**
   * In a cluster: every id from now on comes from `source` (blocks claimed cluster-wide), so
   * idempotent and transactional producers of every broker get ids no other one has.
   */
  delegateTo(source: ProducerIdSource): void {
    this.#cluster = source;
  }

  /** A fresh producer id. */
  next(): number {
    if (this.#cluster !== undefined) return this.#cluster.nextSync();
    if (this.#next === this.#blockEnd) {
      const end = this.#blockEnd + PRODUCER_ID_BLOCK_SIZE;
      this.#libc.writeFileAtomic(this.#path, new TextEncoder().encode(`${end}\n`));
      this.#blockEnd = end;
    }
    return this.#next++;
  }

  /** Whether `id` was handed out by this process (an epoch bump may reuse it). */
  wasIssued(id: number): boolean {
    if (this.#cluster !== undefined) return this.#cluster.wasIssued(id);
    return id >= this.#firstIssuedThisRun && id < this.#next;
  }
}
