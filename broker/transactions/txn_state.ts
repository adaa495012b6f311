/**
 * Kafka's transaction states, their ids in `__transaction_state` and the
 * transitions Kafka's `TransactionState.validPreviousStates` allows: a state
 * change outside these is a bug (asserted), never a client's mistake.
 *
 * @module
 */

/** The states of a transactional id, with Kafka's names. */
export type TxnState =
  | "Empty"
  | "Ongoing"
  | "PrepareCommit"
  | "PrepareAbort"
  | "CompleteCommit"
  | "CompleteAbort"
  | "Dead"
  | "PrepareEpochFence";

/** Every state in the order of its stored id (Kafka's `TransactionState.id`). */
export const TXN_STATES: readonly TxnState[] = [
  "Empty",
  "Ongoing",
  "PrepareCommit",
  "PrepareAbort",
  "CompleteCommit",
  "CompleteAbort",
  "Dead",
  "PrepareEpochFence",
];

const VALID_PREVIOUS: Record<TxnState, readonly TxnState[]> = {
  Empty: ["Empty", "CompleteCommit", "CompleteAbort"],
  Ongoing: ["Ongoing", "Empty", "CompleteCommit", "CompleteAbort"],
  PrepareCommit: ["Ongoing"],
  PrepareAbort: ["Ongoing", "PrepareEpochFence"],
  CompleteCommit: ["PrepareCommit"],
  CompleteAbort: ["PrepareAbort"],
  Dead: ["Empty", "CompleteCommit", "CompleteAbort"],
  PrepareEpochFence: ["Ongoing"],
};

/** The stored id of `state`. */
export function txnStateId(state: TxnState): number {
  return TXN_STATES.indexOf(state);
}

/** The state stored as `id`; throws on an unknown id (a corrupt log). */
export function txnStateFromId(id: number): TxnState {
  const state = TXN_STATES[id];
  if (state === undefined) throw new Error(`Unknown transaction state id ${id}.`);
  return state;
}

/** Whether Kafka allows `from` -> `to`. */
export function canTransition(from: TxnState, to: TxnState): boolean {
  return VALID_PREVIOUS[to].includes(from);
}

/** Whether a transaction in `state` is deciding its outcome (markers being written). */
export function isPreparing(state: TxnState): boolean {
  return state === "PrepareCommit" || state === "PrepareAbort" ||
    state === "PrepareEpochFence";
}

/** Whether `state` ends a transaction (a new one may start). */
export function isComplete(state: TxnState): boolean {
  return state === "Empty" || state === "CompleteCommit" || state === "CompleteAbort";
}

/** The state named `name` (case-insensitive, ListTransactions filters), or undefined. */
export function parseTxnState(name: string): TxnState | undefined {
  const lower = name.toLowerCase();
  return TXN_STATES.find((s) => s.toLowerCase() === lower);
}
