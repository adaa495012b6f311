/**
 * Helpers every route group uses: answer in the client's format, read a
 * bounded body, resolve the cluster, topic and partition of a path, and read
 * integer query parameters.
 *
 * @module
 */
import type { Context } from "hono";
import { ResourceType } from "../security/acl.ts";
import { requireAccess } from "./access.ts";
import type { Partition, Topic } from "../topics.ts";
import {
  decodeBodyObject,
  decodeBodyValues,
  encodeResponse,
  HttpError,
  HttpErrorCode,
  readBodyBytes,
  responseFormat,
} from "./codec.ts";
import type { HttpContext } from "./context.ts";

/** The API's path prefix for one cluster. */
export const CLUSTER_PATH = "/v3/clusters/:cluster_id";

/** Answers `body` with `status` in JSON or CBOR, as the client asked. */
export function reply(c: Context, status: number, body: unknown): Response {
  return encodeResponse(formatOf(c), status, body);
}

/** The response format for this request. */
export function formatOf(c: Context): "json" | "cbor" {
  return responseFormat(c.req.header("accept"), c.req.header("content-type"));
}

/** Reads the body (bounded) as one object. */
export async function readObject(c: Context, ctx: HttpContext): Promise<Record<string, unknown>> {
  const bytes = await readBodyBytes(c.req.raw, ctx.bodySizeBytesMax);
  return decodeBodyObject(bytes, c.req.header("content-type"));
}

/** Reads the body (bounded) as a list of values (a JSON stream or CBOR sequence). */
export async function readValues(c: Context, ctx: HttpContext): Promise<unknown[]> {
  const bytes = await readBodyBytes(c.req.raw, ctx.bodySizeBytesMax);
  return decodeBodyValues(bytes, c.req.header("content-type"));
}

/** Checks the path's cluster id. */
export function checkCluster(c: Context, ctx: HttpContext): string {
  const id = c.req.param("cluster_id") ?? "";
  if (id !== ctx.broker.config.clusterId) {
    throw new HttpError(404, HttpErrorCode.UNKNOWN_CLUSTER, `Cluster "${id}" does not exist.`);
  }
  return id;
}

/**
 * The path's topic, or 404; first 403 unless the caller may perform
 * `operation` (an `AclOperation`) on it, so a refused caller cannot tell
 * whether the topic exists.
 */
export function topicOf(c: Context, ctx: HttpContext, operation: number): Topic {
  checkCluster(c, ctx);
  const name = c.req.param("topic_name") ?? "";
  requireAccess(c, operation, ResourceType.TOPIC, name);
  const topic = ctx.broker.topics.get(name);
  if (topic === undefined) {
    throw new HttpError(404, HttpErrorCode.UNKNOWN_TOPIC, `Topic "${name}" does not exist.`);
  }
  return topic;
}

/** The path's partition, or 404; 403 first as {@linkcode topicOf}. */
export function partitionOf(c: Context, ctx: HttpContext, operation: number): Partition {
  const topic = topicOf(c, ctx, operation);
  const text = c.req.param("partition_id") ?? "";
  const partition = /^\d{1,9}$/.test(text) ? topic.partitions[Number(text)] : undefined;
  if (partition === undefined) {
    throw new HttpError(
      404,
      HttpErrorCode.UNKNOWN_PARTITION,
      `Topic "${topic.name}" has no partition "${text}".`,
    );
  }
  return partition;
}

/** An integer query parameter within `[min, max]`, or `defaultValue` when absent. */
export function intQuery(
  c: Context,
  name: string,
  range: { min: number; max: number; defaultValue: number },
): number {
  const raw = c.req.query(name);
  if (raw === undefined || raw === "") return range.defaultValue;
  const n = Number(raw);
  if (!/^-?\d+$/.test(raw) || n < range.min || n > range.max) {
    throw new HttpError(
      400,
      HttpErrorCode.BAD_PARAMETER,
      `Query parameter "${name}" must be an integer in ${range.min}..${range.max}, got "${raw}".`,
    );
  }
  return n;
}

/** `/v3/clusters/<id>` of this request's origin. */
export function clusterUrl(c: Context, clusterId: string): string {
  return `${new URL(c.req.url).origin}/v3/clusters/${clusterId}`;
}
