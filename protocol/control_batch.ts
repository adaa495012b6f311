/**
 * Kafka's control batches: the EndTransactionMarker (COMMIT / ABORT) a
 * transaction coordinator writes to every partition of a transaction.
 *
 * A control batch has the transactional and control attributes, the
 * producer's id and epoch, base sequence -1, and one record whose key is
 * `version int16 (0) + type int16` (0 ABORT, 1 COMMIT) and whose value is
 * `version int16 (0) + coordinatorEpoch int32` (Kafka's `ControlRecordType`
 * and `EndTransactionMarker`). Readers (consumers, the cleaner, recovery)
 * only need the key's type; {@linkcode decodeControlBatch} returns it with the
 * value's coordinator epoch, or why the bytes are not a marker.
 *
 * @module
 */
import { BATCH_HEADER_BYTES, BatchAttribute, BatchField, RecordBatchView } from "./record_batch.ts";
import { encodeRecordBatch } from "./records.ts";
import { RecordReader } from "./record_reader.ts";

/** Kafka's `ControlRecordType` ids. */
export const ControlRecordType = { ABORT: 0, COMMIT: 1 } as const;

/** Kafka's `ControlRecordType.CURRENT_CONTROL_RECORD_KEY_VERSION` and the marker value version. */
export const CONTROL_RECORD_VERSION = 0;
/** Key: version int16 + type int16. */
const CONTROL_KEY_BYTES = 4;
/** Value: version int16 + coordinatorEpoch int32 (Kafka's `EndTransactionMarker.CURRENT_END_TXN_MARKER_VALUE_SIZE`). */
const MARKER_VALUE_BYTES = 6;

/** One EndTransactionMarker. */
export interface EndTxnMarker {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly coordinatorEpoch: number;
  /** true: COMMIT, false: ABORT. */
  readonly committed: boolean;
}

/**
 * Encodes `marker` as a whole control batch at base offset 0 (the log assigns the offset and
 * stamps the leader epoch) with a valid CRC.
 */
export function encodeControlBatch(marker: EndTxnMarker, timestampMs: number): Uint8Array {
  const key = new Uint8Array(CONTROL_KEY_BYTES);
  const keyView = new DataView(key.buffer);
  keyView.setInt16(0, CONTROL_RECORD_VERSION);
  keyView.setInt16(2, marker.committed ? ControlRecordType.COMMIT : ControlRecordType.ABORT);
  const value = new Uint8Array(MARKER_VALUE_BYTES);
  const valueView = new DataView(value.buffer);
  valueView.setInt16(0, CONTROL_RECORD_VERSION);
  valueView.setInt32(2, marker.coordinatorEpoch);
  const bytes = encodeRecordBatch([{ key, value, timestampMs }], {
    producerId: marker.producerId,
    producerEpoch: marker.producerEpoch,
    baseSequence: -1,
    isTransactional: true,
  });
  const view = new RecordBatchView(bytes);
  view.view.setInt16(
    BatchField.attributes,
    BatchAttribute.TRANSACTIONAL | BatchAttribute.CONTROL,
  );
  view.updateCrc();
  return bytes;
}

/** A decoded marker, or why the batch is not one. */
export type ControlBatchDecode =
  | { readonly ok: true; readonly marker: EndTxnMarker }
  | { readonly ok: false; readonly message: string };

/**
 * Reads the control batch `view` points at (its whole bytes in `view.bytes`): the marker's type
 * from the key, the coordinator epoch from the value. A control batch whose key names another
 * type (Kafka has more, e.g. KRaft's) is not a transaction marker.
 */
export function decodeControlBatch(view: RecordBatchView): ControlBatchDecode {
  const fail = (message: string): ControlBatchDecode => ({ ok: false, message });
  if (!view.isControl) return fail("The batch is not a control batch");
  if (view.compression !== 0) return fail("A control batch must not be compressed");
  if (view.recordCount !== 1) return fail(`A control batch holds ${view.recordCount} records`);
  const start = view.positionBytes + BATCH_HEADER_BYTES;
  const reader = new RecordReader().reset(view.bytes, start, view.positionBytes + view.sizeBytes);
  if (!reader.next()) return fail(`The control record cannot be read: ${reader.error}`);
  if (reader.keyLengthBytes < CONTROL_KEY_BYTES) return fail("The control record key is short");
  const data = new DataView(view.bytes.buffer, view.bytes.byteOffset, view.bytes.byteLength);
  const keyVersion = data.getInt16(reader.keyStartBytes);
  const type = data.getInt16(reader.keyStartBytes + 2);
  if (keyVersion !== CONTROL_RECORD_VERSION) {
    return fail(`The control record key has version ${keyVersion}`);
  }
  if (type !== ControlRecordType.ABORT && type !== ControlRecordType.COMMIT) {
    return fail(`The control record type ${type} is not a transaction marker`);
  }
  if (reader.valueLengthBytes < MARKER_VALUE_BYTES) return fail("The marker value is short");
  const coordinatorEpoch = data.getInt32(reader.valueStartBytes + 2);
  return {
    ok: true,
    marker: {
      producerId: view.producerId,
      producerEpoch: view.producerEpoch,
      coordinatorEpoch,
      committed: type === ControlRecordType.COMMIT,
    },
  };
}
