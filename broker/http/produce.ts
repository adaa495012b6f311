/**
 * Appending records that arrived over HTTP: group them by partition, encode
 * each partition's records as uncompressed v2 batches (split so that no
 * batch exceeds the topic's `max.message.bytes`) and append them as one blob
 * through the one produce path (`../produce_path.ts`), as Kafka produce
 * does, so a partition's records land all together or not at all, are as
 * durable as an acks=all produce when answered, and wake long-poll fetches
 * and live tails.
 *
 * @module
 */
import { errorCodeName } from "../../protocol/error_codes.ts";
import { encodeRecordBatch, type RecordInput } from "../../protocol/records.ts";
import { concatBytes } from "../../util/bytes.ts";
import { produceToPartition } from "../produce_path.ts";
import type { Topic } from "../topics.ts";
import { HttpErrorCode } from "./codec.ts";
import type { HttpContext } from "./context.ts";
import type { ParsedRecord, Partitioner } from "./record_input.ts";

/** The outcome of one record: its offset, or why it was not written. */
export type DeliveryResult =
  | {
    readonly ok: true;
    readonly partition: number;
    readonly offset: number;
    readonly record: RecordInput;
  }
  | {
    readonly ok: false;
    readonly partition: number;
    readonly status: number;
    readonly errorCode: number;
    readonly message: string;
  };

/**
 * Appends `records` to `topic` through the one produce path with acks=all semantics (under
 * `--flush sync` the answer waits for the flush); one result per record, in order.
 */
export async function produceRecords(
  ctx: HttpContext,
  topic: Topic,
  records: readonly ParsedRecord[],
  partitioner: Partitioner,
): Promise<DeliveryResult[]> {
  const results: DeliveryResult[] = new Array(records.length);
  const byPartition = new Map<number, number[]>();
  records.forEach((r, i) => {
    const partition = partitioner.partitionFor(r, topic.partitions.length);
    if (partition >= topic.partitions.length) {
      results[i] = {
        ok: false,
        partition,
        status: 404,
        errorCode: HttpErrorCode.UNKNOWN_PARTITION,
        message: `Topic "${topic.name}" has no partition ${partition}.`,
      };
      return;
    }
    let list = byPartition.get(partition);
    if (list === undefined) byPartition.set(partition, list = []);
    list.push(i);
  });
  const produced = [...byPartition].map(([index, positions]) => {
    const partition = topic.partitions[index];
    const inputs = positions.map((i) => records[i].record);
    const batches = encodeBatches(inputs, partition.log.config.maxMessageBytes);
    // A lone batch was just encoded for this append: it needs no copy.
    const blob = batches.length === 1 ? batches[0] : concatBytes(batches);
    return {
      index,
      positions,
      inputs,
      outcome: produceToPartition(ctx.broker, partition, blob, -1),
    };
  });
  await Promise.all(produced.map((p) => p.outcome.durable));
  for (const { index, positions, inputs, outcome } of produced) {
    const appended = outcome.result;
    positions.forEach((i, j) => {
      results[i] = appended.ok
        ? { ok: true, partition: index, offset: appended.baseOffset + j, record: inputs[j] }
        : {
          ok: false,
          partition: index,
          status: 422,
          errorCode: HttpErrorCode.RECORD_REJECTED,
          message: `The log refused the records: ${
            errorCodeName(appended.errorCode)
          }: ${appended.message}`,
        };
    });
  }
  return results;
}

/** Batches of `records`, halved until each fits `maxBatchBytes` (a lone record is kept whole: the log judges it). */
function encodeBatches(records: readonly RecordInput[], maxBatchBytes: number): Uint8Array[] {
  const batch = encodeRecordBatch(records);
  if (batch.length <= maxBatchBytes || records.length === 1) return [batch];
  const half = Math.ceil(records.length / 2);
  return [
    ...encodeBatches(records.slice(0, half), maxBatchBytes),
    ...encodeBatches(records.slice(half), maxBatchBytes),
  ];
}
