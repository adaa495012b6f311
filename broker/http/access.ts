/**
 * Access control of the HTTP API: one middleware authenticates every request
 * (see `auth.ts`) and records the caller's {@linkcode Session}; each route
 * then asks for what Kafka's protocol asks for the same action, through the
 * same ACLs:
 *
 * | route                                   | Kafka's check                                  |
 * | --------------------------------------- | ---------------------------------------------- |
 * | clusters                                | none beyond authentication (as Metadata)       |
 * | list topics                             | DESCRIBE TOPIC, the list filtered (Metadata)   |
 * | topic, partitions                       | DESCRIBE TOPIC                                 |
 * | create topic                            | CREATE on CLUSTER or on the TOPIC              |
 * | delete topic                            | DELETE TOPIC                                   |
 * | raise partitions                        | ALTER TOPIC (CreatePartitions)                 |
 * | produce records                         | WRITE TOPIC                                    |
 * | read records, live tail                 | READ TOPIC                                     |
 * | list groups                             | DESCRIBE GROUP, the list filtered (ListGroups) |
 * | group, consumers, lags                  | DESCRIBE GROUP; lags of DESCRIBE-able topics   |
 * | throughput history                      | topics filtered by DESCRIBE TOPIC              |
 * | `/metrics` (when closed)                | DESCRIBE CLUSTER                               |
 *
 * A refusal is 403 with `{error_code, message, operation, resource_type,
 * resource_name}`. A named topic is checked before it is looked up, so a
 * caller without DESCRIBE cannot tell whether it exists (as Kafka answers
 * TOPIC_AUTHORIZATION_FAILED). Without an authorizer everything is allowed,
 * as on the Kafka port.
 *
 * `/metrics` and `/health/*` are open when `opsAuthRequired` is false (for
 * scrapers and probes without credentials); the console's page and assets
 * need credentials like the API, so a browser asks for them up front.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import type { HttpRequestInfo } from "../../ffi/port.ts";
import {
  AclOperation,
  type AclResource,
  CLUSTER_RESOURCE_NAME,
  codeName,
  ResourceType,
  type Session,
} from "../security/acl.ts";
import type { HttpAuthenticator } from "./auth.ts";
import { encodeResponse, HttpError, HttpErrorCode, responseFormat } from "./codec.ts";

/** What decides whether a session may act: the broker's ACL authorizer (or its ACL store). */
export interface HttpAuthorizer {
  authorize(session: Session, operation: number, resource: AclResource): boolean;
}

/** The security of one HTTP listener. */
export interface HttpSecurity {
  /** Checks credentials; `undefined` when authentication is off (everyone is ANONYMOUS). */
  readonly authenticator: HttpAuthenticator | undefined;
  /** True when `/metrics` and `/health/*` need credentials too. */
  readonly opsAuthRequired: boolean;
  /** The broker's authorizer; `undefined`: everything is allowed. */
  readonly authorizer: HttpAuthorizer | undefined;
  /** Aborts pending refusal delays when the server stops. */
  readonly signal?: AbortSignal;
}

/** No authentication, no authorization: the API as before security. */
export const OPEN_HTTP_SECURITY: HttpSecurity = {
  authenticator: undefined,
  opsAuthRequired: false,
  authorizer: undefined,
};

/** Kafka's principal of an unauthenticated client. */
export const ANONYMOUS_PRINCIPAL = "User:ANONYMOUS";

/** The caller of one request and the authorizer that judges it. */
interface RequestAccess {
  readonly session: Session;
  readonly authorizer: HttpAuthorizer | undefined;
}

const accessByRequest = new WeakMap<Request, RequestAccess>();

/** True for the routes `opsAuthRequired` covers. */
export function isOpsPath(path: string): boolean {
  return path === "/metrics" || path.startsWith("/health/");
}

/** The middleware that authenticates each request and records its session. */
export function accessMiddleware(security: HttpSecurity): MiddlewareHandler {
  return async (c, next) => {
    const host = (c.env as HttpRequestInfo | undefined)?.remoteAddress ?? "";
    const request = c.req.raw;
    const { authorizer } = security;
    const authenticator = security.authenticator;
    const open = authenticator === undefined ||
      (!security.opsAuthRequired && isOpsPath(new URL(request.url).pathname));
    if (open) {
      accessByRequest.set(request, {
        session: { principal: ANONYMOUS_PRINCIPAL, host },
        authorizer,
      });
      return next();
    }
    const login = await authenticator.authenticate(c.req.header("authorization"), host);
    if (login.ok) {
      accessByRequest.set(request, { session: { principal: login.principal, host }, authorizer });
      return next();
    }
    if (login.delayMs > 0) await delay(login.delayMs, security.signal);
    const format = responseFormat(c.req.header("accept"), c.req.header("content-type"));
    const response = encodeResponse(format, 401, {
      error_code: HttpErrorCode.UNAUTHORIZED,
      message: login.message,
    });
    for (const challenge of login.challenges) {
      response.headers.append("www-authenticate", challenge);
    }
    return response;
  };
}

function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** The caller of this request (ANONYMOUS when authentication is off). */
export function sessionOf(c: Context): Session {
  return accessByRequest.get(c.req.raw)?.session ?? { principal: ANONYMOUS_PRINCIPAL, host: "" };
}

/** True when the caller may perform `operation` on the resource. */
export function mayAccess(
  c: Context,
  operation: number,
  resourceType: number,
  name: string,
): boolean {
  const access = accessByRequest.get(c.req.raw);
  if (access?.authorizer === undefined) return true;
  return access.authorizer.authorize(access.session, operation, { resourceType, name });
}

/** Throws 403 unless the caller may perform `operation` on the resource. */
export function requireAccess(
  c: Context,
  operation: number,
  resourceType: number,
  name: string,
): void {
  if (!mayAccess(c, operation, resourceType, name)) {
    throw forbidden(c, operation, resourceType, name);
  }
}

/** Throws 403 unless the caller may create topic `name` (CREATE on CLUSTER or on the TOPIC). */
export function requireTopicCreate(c: Context, name: string): void {
  if (mayAccess(c, AclOperation.CREATE, ResourceType.CLUSTER, CLUSTER_RESOURCE_NAME)) return;
  requireAccess(c, AclOperation.CREATE, ResourceType.TOPIC, name);
}

/** The 403 naming who was refused what. */
export function forbidden(
  c: Context,
  operation: number,
  resourceType: number,
  name: string,
): HttpError {
  const op = codeName(AclOperation, operation);
  const type = codeName(ResourceType, resourceType);
  return new HttpError(
    403,
    HttpErrorCode.FORBIDDEN,
    `Principal "${sessionOf(c).principal}" is not authorized to ${op} ${type} "${name}".`,
    { operation: op, resource_type: type, resource_name: name },
  );
}
