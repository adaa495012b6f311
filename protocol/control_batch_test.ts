import { assertEquals } from "../util/assert.ts";
import { ControlRecordType, decodeControlBatch, encodeControlBatch } from "./control_batch.ts";
import { BatchAttribute, RecordBatchView, validateBatches } from "./record_batch.ts";
import { decodeRecordBatch, encodeRecordBatch } from "./records.ts";

Deno.test("encodeControlBatch() writes Kafka's EndTransactionMarker batch", () => {
  const bytes = encodeControlBatch(
    { producerId: 7, producerEpoch: 3, coordinatorEpoch: 11, committed: true },
    1000,
  );
  const view = new RecordBatchView(bytes);
  assertEquals(view.attributes, BatchAttribute.TRANSACTIONAL | BatchAttribute.CONTROL);
  assertEquals(view.baseSequence, -1);
  assertEquals([view.producerId, view.producerEpoch], [7, 3]);
  assertEquals(view.isCrcValid(), true);
  const batch = decodeRecordBatch(bytes);
  assertEquals([...batch.records[0].key!], [0, 0, 0, ControlRecordType.COMMIT]);
  assertEquals([...batch.records[0].value!], [0, 0, 0, 0, 0, 11]);
  assertEquals(validateBatches(bytes, { maxMessageBytes: 1000 }).ok, true);
});

Deno.test("decodeControlBatch() round-trips commit and abort markers", () => {
  for (const committed of [true, false]) {
    const marker = { producerId: 2 ** 40, producerEpoch: 32767, coordinatorEpoch: 5, committed };
    const decoded = decodeControlBatch(new RecordBatchView(encodeControlBatch(marker, 1)));
    assertEquals(decoded, { ok: true, marker });
  }
});

Deno.test("decodeControlBatch() refuses data batches and unknown control types", () => {
  const data = encodeRecordBatch([{ key: null, value: new Uint8Array([1]), timestampMs: 1 }]);
  assertEquals(decodeControlBatch(new RecordBatchView(data)).ok, false);
  const other = encodeRecordBatch([{
    key: new Uint8Array([0, 0, 0, 5]),
    value: new Uint8Array(6),
    timestampMs: 1,
  }]);
  const view = new RecordBatchView(other);
  view.view.setInt16(21, BatchAttribute.CONTROL);
  const decoded = decodeControlBatch(view);
  assertEquals(decoded.ok, false);
  if (!decoded.ok) {
    assertEquals(decoded.message, "The control record type 5 is not a transaction marker");
  }
});
