/**
 * The etcd adapter's two streams: `/v3/watch` and `/v3/election/observe`,
 * each a streaming POST whose body is newline-separated JSON. Both survive a
 * lost connection (an etcd restart, a failed endpoint): the watch resumes
 * from the revision after the last one it delivered, so no event is lost or
 * repeated, and reports a compaction gap as a `"compacted"` batch; the
 * observer reconnects and skips the leader it already reported.
 *
 * @module
 */
import {
  CoordinatorError,
  type LeaderInfo,
  type WatchBatch,
  type WatchEvent,
} from "./coordinator.ts";
import {
  decodeKeyValue,
  type EtcdHttp,
  int64,
  type Json,
  jsonLines,
  keyToBase64,
  pause,
  prefixRangeEnd,
} from "./_etcd_http.ts";
import type { ClusterClock } from "./lease_keeper.ts";

/** The first pause before reconnecting a stream; doubled up to the maximum. */
export const STREAM_RETRY_MIN_MS = 50;
/** The longest pause between reconnection attempts. */
export const STREAM_RETRY_MAX_MS = 1_000;

/** What the streams need from the adapter. */
export interface StreamContext {
  readonly http: EtcdHttp;
  readonly clock: ClusterClock;
  readonly rootPrefix: string;
  /** Aborted by the caller's signal or the coordinator's close(). */
  readonly signal: AbortSignal;
}

/** Watch batches for `prefix` (full key) from `fromRevision`. */
export async function* watchStream(
  ctx: StreamContext,
  prefix: string,
  fromRevision: number,
): AsyncGenerator<WatchBatch> {
  let nextRevision = fromRevision;
  let retryMs = STREAM_RETRY_MIN_MS;
  while (!ctx.signal.aborted) {
    const request: Json = {
      create_request: {
        key: keyToBase64(prefix),
        range_end: prefixRangeEnd(prefix),
        prev_kv: true,
        start_revision: String(nextRevision),
      },
    };
    try {
      const response = await ctx.http.open("/v3/watch", request, {
        idempotent: true,
        signal: ctx.signal,
        timeoutMs: Infinity,
      });
      if (!response.ok || response.body === null) {
        throw new CoordinatorError(
          "unavailable",
          `etcd answered the watch with ${response.status}`,
        );
      }
      for await (const line of jsonLines(response.body, ctx.signal)) {
        if (line.error !== undefined) throw streamError(line.error);
        const result: Json = line.result ?? {};
        if (result.canceled) {
          if (result.compact_revision !== undefined) {
            yield { kind: "compacted", compactRevision: int64(result.compact_revision) };
            return;
          }
          throw new CoordinatorError(
            "server",
            `etcd canceled the watch: "${result.cancel_reason ?? "no reason given"}"`,
          );
        }
        const events: WatchEvent[] = (result.events ?? []).map((e: Json) => decodeEvent(ctx, e));
        if (events.length === 0) continue;
        retryMs = STREAM_RETRY_MIN_MS;
        nextRevision = events[events.length - 1].kv.modRevision + 1;
        yield { kind: "events", events };
      }
    } catch (error) {
      if (ctx.signal.aborted) return;
      if (error instanceof CoordinatorError && !isTransient(error)) throw error;
    }
    ctx.http.failOver();
    await pause(ctx.clock, retryMs, ctx.signal);
    retryMs = Math.min(retryMs * 2, STREAM_RETRY_MAX_MS);
  }
}

/** The leader of `electionName` (full key) and every change, until aborted. */
export async function* observeStream(
  ctx: StreamContext,
  electionName: string,
  relativeName: string,
): AsyncGenerator<LeaderInfo> {
  let last: LeaderInfo | undefined;
  let retryMs = STREAM_RETRY_MIN_MS;
  while (!ctx.signal.aborted) {
    try {
      const response = await ctx.http.open(
        "/v3/election/observe",
        { name: keyToBase64(electionName) },
        { idempotent: true, signal: ctx.signal, timeoutMs: Infinity },
      );
      if (!response.ok || response.body === null) {
        throw new CoordinatorError("unavailable", `etcd answered observe with ${response.status}`);
      }
      for await (const line of jsonLines(response.body, ctx.signal)) {
        if (line.error !== undefined) throw streamError(line.error);
        const kv = line.result?.kv;
        if (kv === undefined) continue;
        const leader = leaderInfo(ctx.rootPrefix, relativeName, kv);
        retryMs = STREAM_RETRY_MIN_MS;
        if (last?.key === leader.key && last.modRevision === leader.modRevision) continue;
        last = leader;
        yield leader;
      }
    } catch (error) {
      if (ctx.signal.aborted) return;
      if (error instanceof CoordinatorError && !isTransient(error)) throw error;
    }
    ctx.http.failOver();
    await pause(ctx.clock, retryMs, ctx.signal);
    retryMs = Math.min(retryMs * 2, STREAM_RETRY_MAX_MS);
  }
}

/** A leader from an election key's `mvccpb.KeyValue`. */
export function leaderInfo(rootPrefix: string, name: string, kvJson: Json): LeaderInfo {
  const kv = decodeKeyValue(kvJson, rootPrefix);
  return {
    name,
    key: kv.key,
    revision: kv.createRevision,
    leaseId: kv.leaseId ?? "0",
    value: kv.value,
    modRevision: kv.modRevision,
  };
}

function decodeEvent(ctx: StreamContext, event: Json): WatchEvent {
  return {
    type: event.type === "DELETE" ? "delete" : "put",
    kv: decodeKeyValue(event.kv ?? {}, ctx.rootPrefix),
    prevKv: event.prev_kv === undefined ? undefined : decodeKeyValue(event.prev_kv, ctx.rootPrefix),
  };
}

/**
 * gRPC codes a stream ends with when etcd goes away or restarts: Canceled (the
 * gateway's own connection to etcd closing, seen when etcd stops),
 * DeadlineExceeded, Unavailable. Worth reconnecting.
 */
const TRANSIENT_STREAM_CODES = new Set([1, 4, 14]);

function streamError(error: Json): CoordinatorError {
  const code = Number(error.grpc_code ?? error.code);
  const message = String(error.message ?? JSON.stringify(error));
  if (TRANSIENT_STREAM_CODES.has(code)) {
    return new CoordinatorError("unavailable", `etcd stream ended (code ${code}): "${message}"`);
  }
  return new CoordinatorError("server", `etcd stream failed (code ${code}): "${message}"`);
}

/** A lost connection or a garbled line: worth reconnecting (a body read error is too). */
function isTransient(error: CoordinatorError): boolean {
  return error.reason === "unavailable" || error.reason === "timeout" ||
    error.reason === "protocol";
}
