/**
 * The load generator's side of a fetch session (KIP-227), kept as the Java
 * client and franz-go keep theirs: the first fetch is full, with epoch 0;
 * once the broker answers with a session id, every fetch carries the next
 * epoch (INT32_MAX is followed by 1) and lists only the partitions whose fetch
 * offset the broker does not hold yet, with those no longer wanted as
 * forgotten. A session error starts over with a full fetch (closing the old
 * session when it may still exist); an answer without a session id means the
 * broker kept none, and the next fetch is full again.
 *
 * Without sessions (a broker below Fetch 7, where the request has no session
 * fields), every fetch is a full one with the sessionless epoch -1, as the
 * Java client sends when it keeps no session.
 *
 * One topic, one fetch in flight: the load generator waits for each answer.
 *
 * @module
 */
import { ErrorCode } from "../protocol/error_codes.ts";

/** Epoch of a full fetch that asks for a session. */
const INITIAL_EPOCH = 0;
/** Epoch of a full fetch that neither opens nor keeps a session (Kafka's FINAL_EPOCH). */
const SESSIONLESS_EPOCH = -1;
const EPOCH_MAX = 2147483647;

/** The epoch after `epoch` (INT32_MAX is followed by 1). */
export function nextEpoch(epoch: number): number {
  return epoch >= EPOCH_MAX ? 1 : epoch + 1;
}

/** The session fields and partitions of one fetch. */
export interface SessionFetch {
  readonly sessionId: number;
  readonly sessionEpoch: number;
  /** Partition -> fetch offset to list in the request. */
  readonly partitions: ReadonlyMap<number, number>;
  /** Partitions to drop from the session. */
  readonly forgotten: readonly number[];
}

/** What {@linkcode FetchSessionClient.onResponse} makes of an answer. */
export type SessionVerdict =
  /** Use the answer's partitions. */
  | "ok"
  /** A session error: nothing in the answer; send the next fetch (a full one). */
  | "retry";

/** The client's view of one fetch session with one broker. */
export class FetchSessionClient {
  #sessionId = 0;
  #epoch = INITIAL_EPOCH;
  /** What the broker's session holds: partition -> fetch offset. */
  readonly #held = new Map<number, number>();
  readonly #sessions: boolean;
  /** Fetches answered incrementally (for tests and reports). */
  incrementalCount = 0;

  /** With `sessions: false` every fetch is a full, sessionless one. */
  constructor(options: { sessions: boolean } = { sessions: true }) {
    this.#sessions = options.sessions;
  }

  /** The current session id (0: none). */
  get sessionId(): number {
    return this.#sessionId;
  }

  /** The next fetch for `wanted` (partition -> fetch offset). */
  next(wanted: ReadonlyMap<number, number>): SessionFetch {
    if (!this.#sessions) {
      return {
        sessionId: 0,
        sessionEpoch: SESSIONLESS_EPOCH,
        partitions: new Map(wanted),
        forgotten: [],
      };
    }
    if (this.#epoch === INITIAL_EPOCH) {
      return {
        sessionId: this.#sessionId,
        sessionEpoch: INITIAL_EPOCH,
        partitions: new Map(wanted),
        forgotten: [],
      };
    }
    const partitions = new Map<number, number>();
    for (const [partition, offset] of wanted) {
      if (this.#held.get(partition) !== offset) partitions.set(partition, offset);
    }
    const forgotten: number[] = [];
    for (const partition of this.#held.keys()) {
      if (!wanted.has(partition)) forgotten.push(partition);
    }
    return { sessionId: this.#sessionId, sessionEpoch: this.#epoch, partitions, forgotten };
  }

  /**
   * Takes the answer to `sent` (its top-level error code and session id).
   * Throws on an error that is not about the session.
   */
  onResponse(sent: SessionFetch, answer: { errorCode: number; sessionId: number }): SessionVerdict {
    if (!this.#sessions) {
      if (answer.errorCode === ErrorCode.NONE) return "ok";
      throw new Error(`Fetch failed with error code ${answer.errorCode}`);
    }
    if (answer.errorCode === ErrorCode.FETCH_SESSION_ID_NOT_FOUND) {
      this.#restart(0);
      return "retry";
    }
    if (
      answer.errorCode === ErrorCode.INVALID_FETCH_SESSION_EPOCH ||
      answer.errorCode === ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR
    ) {
      this.#restart(this.#sessionId); // a full fetch naming it closes it
      return "retry";
    }
    if (answer.errorCode !== ErrorCode.NONE) {
      throw new Error(`Fetch failed with error code ${answer.errorCode}`);
    }
    if (answer.sessionId === 0) {
      this.#restart(0);
      return "ok";
    }
    if (sent.sessionEpoch === INITIAL_EPOCH) {
      this.#held.clear();
    } else if (answer.sessionId !== this.#sessionId) {
      throw new Error(`Session ${this.#sessionId} was answered as session ${answer.sessionId}`);
    } else {
      this.incrementalCount++;
    }
    for (const partition of sent.forgotten) this.#held.delete(partition);
    for (const [partition, offset] of sent.partitions) this.#held.set(partition, offset);
    this.#sessionId = answer.sessionId;
    this.#epoch = nextEpoch(this.#epoch);
    return "ok";
  }

  #restart(sessionId: number): void {
    this.#sessionId = sessionId;
    this.#epoch = INITIAL_EPOCH;
    this.#held.clear();
  }
}
