/**
 * A live tail of one partition as Server-Sent Events:
 * `GET .../partitions/{partition_id}/records/tail?offset=N` (default: the
 * high watermark, i.e. only new records).
 *
 * Events: `ready` (data `{"offset": N}`) once, then one `record` per record
 * (`id:` its offset, data the record as JSON with base64 bytes), a comment
 * every {@linkcode TAIL_KEEPALIVE_MS} while idle, and `error` before the
 * stream ends when the partition goes away. The stream pulls: it reads when
 * the client has taken the last chunk, and otherwise parks on the same
 * append waiters as a long-poll fetch, so an idle tail costs a timer.
 *
 * @module
 */
import type { Hono } from "hono";
import { waitInterest } from "../append_waiters.ts";
import { AclOperation } from "../security/acl.ts";
import { HttpError } from "./codec.ts";
import type { HttpContext } from "./context.ts";
import { readRecords } from "./record_reader.ts";
import { CLUSTER_PATH, intQuery, partitionOf } from "./route_util.ts";
import { recordBody } from "./routes_records.ts";

/** Idle time before a keep-alive comment. */
export const TAIL_KEEPALIVE_MS = 15_000;
/** Records one event chunk carries at most. */
const TAIL_CHUNK_RECORDS_MAX = 500;
const TAIL_CHUNK_BYTES_MAX = 1024 * 1024;

const textEncoder = new TextEncoder();

function event(name: string, data: unknown, id?: number): Uint8Array {
  const idLine = id === undefined ? "" : `id: ${id}\n`;
  return textEncoder.encode(`${idLine}event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
}

/** Mounts the tail route. */
export function tailRoutes(app: Hono, ctx: HttpContext): void {
  app.get(`${CLUSTER_PATH}/topics/:topic_name/partitions/:partition_id/records/tail`, (c) => {
    const partition = partitionOf(c, ctx, AclOperation.READ);
    const topicName = partition.topic.name;
    const index = partition.index;
    let offset = intQuery(c, "offset", {
      min: 0,
      max: Number.MAX_SAFE_INTEGER,
      defaultValue: partition.log.highWatermark,
    });
    const stop = new AbortController();
    const interest = waitInterest([{ topic: topicName, partition: index }]);
    let stream: ReadableStreamDefaultController<Uint8Array> | undefined;
    let closed = false;
    const finish = () => {
      ctx.signal.removeEventListener("abort", abort);
      stop.abort();
      if (!closed) stream?.close();
      closed = true;
    };
    // The server stopping ends the stream at once, even while no read is
    // pending (Deno's shutdown waits for open responses); a client leaving
    // cancels the stream.
    const abort = () => finish();
    ctx.signal.addEventListener("abort", abort);
    let started = false;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        stream = controller;
      },
      async pull(controller) {
        if (closed) return;
        if (!started) {
          started = true;
          controller.enqueue(event("ready", { offset }));
          return;
        }
        for (;;) {
          if (closed) return;
          const current = ctx.broker.topics.partition(topicName, index);
          if (current === undefined || current.log !== partition.log) {
            controller.enqueue(
              event("error", { message: `Partition ${topicName}-${index} is gone.` }),
            );
            return finish();
          }
          let read;
          try {
            read = readRecords(current.log, ctx.broker.libc, {
              offset,
              maxRecords: TAIL_CHUNK_RECORDS_MAX,
              maxBytes: TAIL_CHUNK_BYTES_MAX,
            });
          } catch (e) {
            if (!(e instanceof HttpError)) throw e;
            controller.enqueue(event("error", { error_code: e.errorCode, message: e.message }));
            return finish();
          }
          offset = read.nextOffset;
          if (read.records.length > 0) {
            ctx.metrics.countOut(topicName, read.sizeBytes, read.records.length);
            for (const r of read.records) {
              controller.enqueue(event("record", recordBody(r, false), r.offset));
            }
            return;
          }
          const appended = await ctx.broker.waiters.wait(interest, TAIL_KEEPALIVE_MS, stop.signal);
          if (!appended && !closed) {
            controller.enqueue(textEncoder.encode(": keep-alive\n\n"));
            return;
          }
        }
      },
      cancel() {
        closed = true;
        finish();
      },
    });
    return new Response(body, {
      status: 200,
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        "x-accel-buffering": "no",
      },
    });
  });
}
