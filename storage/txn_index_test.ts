import { assertEquals, assertThrows } from "../util/assert.ts";
import { memoryLibc } from "../ffi/memory.ts";
import { TransactionIndex, TXN_INDEX_ENTRY_BYTES, TxnIndexCorruptError } from "./txn_index.ts";

const PATH = "/d/00000000000000000000.txnindex";

function setup() {
  const libc = memoryLibc();
  libc.mkdirp("/d");
  return libc;
}

Deno.test("TransactionIndex.append() writes Kafka's 34-byte entries and reopens them", () => {
  const libc = setup();
  const index = TransactionIndex.open(libc, PATH);
  assertEquals(libc.exists(PATH), false, "the file is created at the first abort");
  index.append({ producerId: 2 ** 40 + 3, firstOffset: 5, lastOffset: 9, lastStableOffset: 10 });
  index.append({ producerId: 7, firstOffset: 6, lastOffset: 12, lastStableOffset: 13 });
  index.close();
  const bytes = libc.readFile(PATH);
  assertEquals(bytes.length, 2 * TXN_INDEX_ENTRY_BYTES);
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  assertEquals(view.getInt16(0), 0);
  assertEquals(view.getBigInt64(2), 2n ** 40n + 3n);
  assertEquals(view.getBigInt64(10), 5n);
  assertEquals(view.getBigInt64(18), 9n);
  assertEquals(view.getBigInt64(26), 10n);
  const reopened = TransactionIndex.open(libc, PATH);
  assertEquals(reopened.entries, [
    { producerId: 2 ** 40 + 3, firstOffset: 5, lastOffset: 9, lastStableOffset: 10 },
    { producerId: 7, firstOffset: 6, lastOffset: 12, lastStableOffset: 13 },
  ]);
  reopened.close();
});

Deno.test("TransactionIndex.collectAbortedTxns() returns overlaps and stops at a complete entry", () => {
  const libc = setup();
  const index = TransactionIndex.open(libc, PATH);
  index.append({ producerId: 1, firstOffset: 0, lastOffset: 4, lastStableOffset: 5 });
  index.append({ producerId: 2, firstOffset: 3, lastOffset: 20, lastStableOffset: 21 });
  index.append({ producerId: 3, firstOffset: 30, lastOffset: 40, lastStableOffset: 41 });
  const first = index.collectAbortedTxns(5, 10);
  assertEquals(first.abortedTransactions.map((t) => t.producerId), [2]);
  assertEquals(first.isComplete, true);
  const all = index.collectAbortedTxns(0, 100);
  assertEquals(all.abortedTransactions.map((t) => t.producerId), [1, 2, 3]);
  assertEquals(all.isComplete, false);
  index.close();
});

Deno.test("TransactionIndex.truncateTo() drops entries whose marker is at or past the offset", () => {
  const libc = setup();
  const index = TransactionIndex.open(libc, PATH);
  index.append({ producerId: 1, firstOffset: 0, lastOffset: 4, lastStableOffset: 5 });
  index.append({ producerId: 2, firstOffset: 3, lastOffset: 20, lastStableOffset: 21 });
  index.truncateTo(20);
  assertEquals(index.entries.length, 1);
  index.append({ producerId: 3, firstOffset: 6, lastOffset: 8, lastStableOffset: 9 });
  index.close();
  assertEquals(TransactionIndex.open(libc, PATH).entries.map((t) => t.producerId), [1, 3]);
});

Deno.test("TransactionIndex.open() refuses a torn or disordered file", () => {
  const libc = setup();
  libc.writeFileAtomic(PATH, new Uint8Array(TXN_INDEX_ENTRY_BYTES + 3));
  assertThrows(() => TransactionIndex.open(libc, PATH), TxnIndexCorruptError);
  const index = TransactionIndex.open(libc, "/d/1.txnindex");
  index.append({ producerId: 1, firstOffset: 0, lastOffset: 9, lastStableOffset: 10 });
  index.close();
  const bytes = libc.readFile("/d/1.txnindex");
  const twice = new Uint8Array(2 * TXN_INDEX_ENTRY_BYTES);
  twice.set(bytes);
  twice.set(bytes, TXN_INDEX_ENTRY_BYTES);
  new DataView(twice.buffer).setBigInt64(TXN_INDEX_ENTRY_BYTES + 18, 3n);
  libc.writeFileAtomic(PATH, twice);
  assertThrows(() => TransactionIndex.open(libc, PATH), /goes back to 3/);
});

Deno.test("TransactionIndex.delete() removes the file", () => {
  const libc = setup();
  const index = TransactionIndex.open(libc, PATH);
  index.append({ producerId: 1, firstOffset: 0, lastOffset: 9, lastStableOffset: 10 });
  index.delete();
  assertEquals(libc.exists(PATH), false);
  assertEquals(libc.openFdCount(), 0);
});
