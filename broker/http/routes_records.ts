/**
 * Records over HTTP:
 *
 * - `POST .../topics/{topic_name}/records`: one record object (Confluent v3)
 *   answered with its delivery report, or a stream of them (concatenated JSON
 *   objects, or a CBOR sequence) answered with one report per record
 *   (newline-delimited JSON or a CBOR sequence), each with its `error_code`.
 * - `POST .../topics/{topic_name}/records:batch`: `{entries: [{id, ...record}]}`
 *   answered 207 with `{successes, failures}` by `id`.
 * - `GET .../partitions/{partition_id}/records?offset&max_records&max_bytes`:
 *   records from an offset, bounded (Denka's addition).
 *
 * A body that is malformed or holds a record of the wrong shape writes
 * nothing (400); each partition's records are appended all or nothing.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import type { DecodedRecord, RecordInput } from "../../protocol/records.ts";
import { AclOperation } from "../security/acl.ts";
import { encodeSequence, HttpError, HttpErrorCode, isObject, toBase64 } from "./codec.ts";
import type { HttpContext } from "./context.ts";
import { type DeliveryResult, produceRecords } from "./produce.ts";
import { type ParsedRecord, parseRecord, Partitioner } from "./record_input.ts";
import { readRecords } from "./record_reader.ts";
import {
  CLUSTER_PATH,
  formatOf,
  intQuery,
  partitionOf,
  readObject,
  readValues,
  reply,
  topicOf,
} from "./route_util.ts";

/** Records one read returns at most. */
export const READ_RECORDS_MAX = 10_000;
/** Stored bytes one read may ask for. */
export const READ_BYTES_MAX = 16 * 1024 * 1024;
/** Records in one produce request at most. */
export const PRODUCE_RECORDS_MAX = 100_000;

function sizeOf(bytes: Uint8Array | null): { type: string; size: number } | null {
  return bytes === null ? null : { type: "BINARY", size: bytes.length };
}

/** The v3 delivery report of one record. */
function report(
  clusterId: string,
  topic: string,
  result: DeliveryResult,
): Record<string, unknown> {
  if (!result.ok) {
    return {
      error_code: result.errorCode,
      message: result.message,
      partition_id: result.partition,
    };
  }
  const r: RecordInput = result.record;
  return {
    error_code: 200,
    cluster_id: clusterId,
    topic_name: topic,
    partition_id: result.partition,
    offset: result.offset,
    timestamp: new Date(r.timestampMs).toISOString(),
    key: sizeOf(r.key),
    value: sizeOf(r.value),
  };
}

/** A decoded record as the API returns it: bytes raw in CBOR, base64 in JSON. */
export function recordBody(r: DecodedRecord, binary: boolean): Record<string, unknown> {
  const bytes = (b: Uint8Array | null) => (b === null ? null : binary ? b : toBase64(b));
  return {
    offset: r.offset,
    timestamp: r.timestampMs,
    key: bytes(r.key),
    value: bytes(r.value),
    headers: r.headers.map((h) => ({ name: h.key, value: bytes(h.value) })),
  };
}

/** Mounts the record routes. */
export function recordRoutes(app: Hono, ctx: HttpContext): void {
  const partitioner = new Partitioner();
  const clusterId = () => ctx.broker.config.clusterId;

  app.post(`${CLUSTER_PATH}/topics/:topic_name/:op{records(?::batch)?}`, async (c) => {
    const topic = topicOf(c, ctx, AclOperation.WRITE);
    if (c.req.param("op") === "records:batch") return produceBatch(c, ctx, topic, partitioner);
    const values = await readValues(c, ctx);
    if (values.length === 0) {
      throw new HttpError(400, HttpErrorCode.WRONG_TYPE, "The body holds no record.");
    }
    checkCount(values.length);
    const nowMs = ctx.broker.nowMs();
    const parsed = values.map((v) => parseRecord(v, nowMs));
    const results = await produceRecords(ctx, topic, parsed, partitioner);
    if (results.length === 1) {
      const result = results[0];
      if (!result.ok) throw new HttpError(result.status, result.errorCode, result.message);
      return reply(c, 200, report(clusterId(), topic.name, result));
    }
    return encodeSequence(formatOf(c), 200, results.map((r) => report(clusterId(), topic.name, r)));
  });

  app.get(`${CLUSTER_PATH}/topics/:topic_name/partitions/:partition_id/records`, (c) => {
    const partition = partitionOf(c, ctx, AclOperation.READ);
    const log = partition.log;
    const offset = intQuery(c, "offset", {
      min: 0,
      max: Number.MAX_SAFE_INTEGER,
      defaultValue: log.logStartOffset,
    });
    const maxRecords = intQuery(c, "max_records", {
      min: 1,
      max: READ_RECORDS_MAX,
      defaultValue: 100,
    });
    const maxBytes = intQuery(c, "max_bytes", {
      min: 1,
      max: READ_BYTES_MAX,
      defaultValue: 1024 * 1024,
    });
    const read = readRecords(log, ctx.broker.libc, { offset, maxRecords, maxBytes });
    ctx.metrics.countOut(partition.topic.name, read.sizeBytes, read.records.length);
    const binary = formatOf(c) === "cbor";
    return reply(c, 200, {
      kind: "DenkaRecordList",
      cluster_id: clusterId(),
      topic_name: partition.topic.name,
      partition_id: partition.index,
      log_start_offset: read.logStartOffset,
      high_watermark: read.highWatermark,
      next_offset: read.nextOffset,
      data: read.records.map((r) => recordBody(r, binary)),
    });
  });
}

function checkCount(count: number): void {
  if (count > PRODUCE_RECORDS_MAX) {
    throw new HttpError(
      400,
      HttpErrorCode.WRONG_TYPE,
      `A request may carry at most ${PRODUCE_RECORDS_MAX} records, got ${count}.`,
    );
  }
}

async function produceBatch(
  c: Context,
  ctx: HttpContext,
  topic: ReturnType<typeof topicOf>,
  partitioner: Partitioner,
): Promise<Response> {
  const body = await readObject(c, ctx);
  const entries = body.entries;
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new HttpError(
      400,
      HttpErrorCode.WRONG_TYPE,
      `Field "entries" must be a non-empty array.`,
    );
  }
  checkCount(entries.length);
  const nowMs = ctx.broker.nowMs();
  const ids: unknown[] = [];
  const parsed: ParsedRecord[] = entries.map((e, i) => {
    try {
      ids.push(isObject(e) && e.id !== undefined ? e.id : String(i));
      return parseRecord(e, nowMs);
    } catch (error) {
      if (error instanceof HttpError) {
        throw new HttpError(error.status, error.errorCode, `Entry ${i}: ${error.message}`);
      }
      throw error;
    }
  });
  const results = await produceRecords(ctx, topic, parsed, partitioner);
  const clusterId = ctx.broker.config.clusterId;
  const successes: unknown[] = [];
  const failures: unknown[] = [];
  results.forEach((r, i) => {
    if (r.ok) successes.push({ id: ids[i], ...report(clusterId, topic.name, r) });
    else failures.push({ id: ids[i], error_code: r.errorCode, message: r.message });
  });
  return reply(c, 207, { successes, failures });
}
