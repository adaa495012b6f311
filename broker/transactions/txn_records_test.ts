import { assertEquals, assertThrows } from "../../util/assert.ts";
import {
  decodeTxnKey,
  decodeTxnValue,
  encodeTxnKey,
  encodeTxnValue,
  type StoredTxn,
  txnPartitionFor,
} from "./txn_records.ts";
import { canTransition, TXN_STATES, txnStateFromId } from "./txn_state.ts";

Deno.test("__transaction_state records round-trip in Kafka's formats", () => {
  const txn: StoredTxn = {
    producerId: 4242,
    producerEpoch: 7,
    transactionTimeoutMs: 60_000,
    state: "PrepareCommit",
    partitions: [{ topic: "a", partitions: [0, 3] }, { topic: "b", partitions: [1] }],
    lastUpdateTimestampMs: 1_700_000_000_123,
    startTimestampMs: 1_700_000_000_000,
  };
  assertEquals(decodeTxnKey(encodeTxnKey("my-txn")), "my-txn");
  assertEquals(decodeTxnValue(encodeTxnValue(txn)), txn);
  // Kafka's key v0: int16 version 0, int16 length, the id.
  assertEquals([...encodeTxnKey("ab")], [0, 0, 0, 2, 97, 98]);
  // Value v0 starts with version 0, producer id (int64), epoch (int16), timeout (int32), state id.
  const v = encodeTxnValue(txn);
  assertEquals([...v.subarray(0, 2)], [0, 0]);
  assertEquals(new DataView(v.buffer).getBigInt64(2), 4242n);
  assertEquals(v[16], 2); // PrepareCommit
  assertThrows(() => decodeTxnValue(v.subarray(0, v.length - 1)));
  assertThrows(() => decodeTxnKey(new Uint8Array([0, 5, 0, 0])));
});

Deno.test("txnPartitionFor() is Kafka's abs(String.hashCode) % partitions", () => {
  // Java: "my-txn".hashCode() == -1061187895; abs % 50 == 45.
  assertEquals(txnPartitionFor("my-txn", 50), 45);
  // "" hashes to 0; Integer.MIN_VALUE ("polygenelubricants") maps to 0 like Kafka's Utils.abs.
  assertEquals(txnPartitionFor("", 50), 0);
  assertEquals(txnPartitionFor("polygenelubricants", 50), 0);
});

Deno.test("transaction states follow Kafka's ids and transitions", () => {
  assertEquals(TXN_STATES.indexOf("PrepareEpochFence"), 7);
  assertEquals(txnStateFromId(5), "CompleteAbort");
  assertThrows(() => txnStateFromId(8));
  assertEquals(canTransition("Ongoing", "PrepareCommit"), true);
  assertEquals(canTransition("Empty", "PrepareCommit"), false);
  assertEquals(canTransition("PrepareCommit", "CompleteAbort"), false);
  assertEquals(canTransition("CompleteAbort", "Ongoing"), true);
});
