/**
 * Per-topic traffic of the Kafka protocol, counted from the decoded request
 * and the response the router's observer hands over (no change to the
 * produce or fetch paths):
 *
 * - Produce: bytes of every partition's records that were appended (error
 *   code NONE), and records from the batch headers, which are in memory.
 * - Fetch: bytes of the file slices the response sends, and records as the
 *   offsets of the batches sent: from the first batch's base offset to the
 *   offset just after the last slice (each read as one 61-byte header with
 *   pread, the latter only when the slice does not end its segment). The
 *   request is not used: a fetch session's response lists other partitions,
 *   in another order, than its request.
 *
 * @module
 */
import type { Libc } from "../../ffi/port.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { FetchResponse } from "../../protocol/messages/fetch.ts";
import type { ProduceRequest, ProduceResponse } from "../../protocol/messages/produce.ts";
import {
  BATCH_HEADER_BYTES,
  BATCH_LOG_OVERHEAD_BYTES,
  RecordBatchView,
} from "../../protocol/record_batch.ts";
import type { FileSlice } from "../../protocol/send_plan.ts";
import type { TopicRegistry } from "../topics.ts";

/** Where traffic is counted. */
export interface TrafficSink {
  countIn(topic: string, bytes: number, records: number): void;
  countOut(topic: string, bytes: number, records: number): void;
}

/** Records in the batches of `bytes` (whole batches only). */
export function recordCountOf(bytes: Uint8Array): number {
  const view = new RecordBatchView(bytes);
  let records = 0;
  for (let p = 0; p + BATCH_HEADER_BYTES <= bytes.length;) {
    view.moveTo(p);
    const sizeBytes = view.sizeBytes;
    if (sizeBytes < BATCH_LOG_OVERHEAD_BYTES || p + sizeBytes > bytes.length) break;
    records += view.recordCount;
    p += sizeBytes;
  }
  return records;
}

/** Counts an answered Produce request. */
export function countProduce(
  sink: TrafficSink,
  request: ProduceRequest,
  response: ProduceResponse,
): void {
  request.topicData.forEach((t, ti) => {
    const answered = response.responses[ti]?.partitionResponses;
    t.partitionData.forEach((p, pi) => {
      if (p.records === null || answered?.[pi]?.errorCode !== ErrorCode.NONE) return;
      sink.countIn(t.name, p.records.length, recordCountOf(p.records));
    });
  });
}

/** Counts an answered Fetch request. */
export function countFetch(
  sink: TrafficSink,
  response: FetchResponse,
  options: { topics: TopicRegistry; libc: Libc },
): void {
  for (const t of response.responses) {
    for (const p of t.partitions) {
      const slices = p.records as FileSlice[] | null;
      if (slices === null || slices.length === 0) continue;
      let bytes = 0;
      for (const s of slices) bytes += s.sizeBytes;
      const first = baseOffsetAt(slices[0], options.libc);
      const next = nextOffsetAfter(slices[slices.length - 1], t.topic, p.partitionIndex, options);
      const records = next === undefined || first === undefined ? 0 : Math.max(0, next - first);
      sink.countOut(t.topic, bytes, records);
    }
  }
}

const headerBytes = new Uint8Array(BATCH_HEADER_BYTES);
const headerView = new RecordBatchView(headerBytes);

function baseOffsetAt(slice: FileSlice, libc: Libc): number | undefined {
  const read = libc.pread(slice.fd, headerBytes, slice.positionBytes);
  return read === BATCH_HEADER_BYTES ? headerView.baseOffset : undefined;
}

function nextOffsetAfter(
  last: FileSlice,
  topic: string,
  partition: number,
  options: { topics: TopicRegistry; libc: Libc },
): number | undefined {
  const log = options.topics.partition(topic, partition)?.log;
  const segment = log?.segments.find((s) => s.logFd === last.fd);
  if (segment === undefined) return undefined;
  const endBytes = last.positionBytes + last.sizeBytes;
  if (endBytes >= segment.sizeBytes) return segment.nextOffset;
  const read = options.libc.pread(last.fd, headerBytes, endBytes);
  return read === BATCH_HEADER_BYTES ? headerView.baseOffset : undefined;
}
