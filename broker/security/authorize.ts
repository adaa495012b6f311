/**
 * The checks every handler makes, as Kafka's `AuthHelper` makes them: one
 * call per check, answering from the broker's ACLs for the connection's
 * principal and host. With no authorizer configured (`authorizer.class.name`
 * unset) every check is one branch and allows.
 *
 * What each API checks follows Kafka's `KafkaApis` (and the "Operations and
 * Resources on Protocols" table of Kafka's security docs); the handlers call
 * these helpers in one line each.
 *
 * @module
 */
import {
  AclOperation,
  AclPermissionType,
  CLUSTER_RESOURCE_NAME,
  codeName,
  normalizeHost,
  PatternType,
  ResourceType,
  type Session,
  WILDCARD,
  WILDCARD_PRINCIPAL,
} from "./acl.ts";
import type { AclStore } from "./acl_store.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";

/** What a check needs of a request: the broker's ACLs and who is asking from where. */
export interface AuthorizationContext {
  readonly broker: {
    readonly acls: AclStore | undefined;
    /** Where denials are logged, rate-limited (Kafka's authorizer logs them at INFO). */
    readonly logLimiter?: { info(kind: string, message: string): void };
  };
  readonly connection: {
    readonly principal: string;
    readonly socket: { readonly remoteAddress: string };
  };
}

/** Kafka's messages for the authorization errors (`Errors.X.message()`). */
export const AuthorizationMessage = {
  TOPIC: "Topic authorization failed.",
  GROUP: "Group authorization failed.",
  CLUSTER: "Cluster authorization failed.",
  TRANSACTIONAL_ID: "Transactional Id authorization failed.",
} as const;

/** Kafka's operations a resource type supports (`AclEntry.supportedOperations`), for authorized-operation bit fields. */
const SUPPORTED_OPERATIONS: Readonly<Record<number, readonly number[]>> = {
  [ResourceType.TOPIC]: [
    AclOperation.READ,
    AclOperation.WRITE,
    AclOperation.CREATE,
    AclOperation.DESCRIBE,
    AclOperation.DELETE,
    AclOperation.ALTER,
    AclOperation.DESCRIBE_CONFIGS,
    AclOperation.ALTER_CONFIGS,
  ],
  [ResourceType.GROUP]: [AclOperation.READ, AclOperation.DESCRIBE, AclOperation.DELETE],
  [ResourceType.CLUSTER]: [
    AclOperation.CREATE,
    AclOperation.ALTER,
    AclOperation.DESCRIBE,
    AclOperation.CLUSTER_ACTION,
    AclOperation.DESCRIBE_CONFIGS,
    AclOperation.ALTER_CONFIGS,
    AclOperation.IDEMPOTENT_WRITE,
    AclOperation.CREATE_TOKENS,
    AclOperation.DESCRIBE_TOKENS,
  ],
  [ResourceType.TRANSACTIONAL_ID]: [AclOperation.DESCRIBE, AclOperation.WRITE],
};

/** Sessions by connection, rebuilt when the principal changes (SASL, re-authentication). */
const sessions = new WeakMap<object, Session>();

/** The session of a request's connection: its principal and the client's address without the port. */
export function sessionOf(ctx: AuthorizationContext): Session {
  const connection = ctx.connection;
  const cached = sessions.get(connection);
  if (cached !== undefined && cached.principal === connection.principal) return cached;
  const session = {
    principal: connection.principal,
    host: hostOf(connection.socket.remoteAddress),
  };
  sessions.set(connection, session);
  return session;
}

/** `host:port` (as the runtimes give a peer's address) as the host alone, `::ffff:` IPv4 as IPv4. */
export function hostOf(remoteAddress: string): string {
  const colon = remoteAddress.lastIndexOf(":");
  const host = colon < 0 ? remoteAddress : remoteAddress.slice(0, colon);
  return normalizeHost(host.replace(/^\[|\]$/g, ""));
}

/**
 * True when the request's principal may perform `operation` on the resource;
 * always with no authorizer. A denial is logged (rate-limited), as Kafka's
 * authorizer logs it; {@linkcode authorizeQuietly} is for filters and queries.
 */
export function authorize(
  ctx: AuthorizationContext,
  operation: number,
  resourceType: number,
  name: string,
): boolean {
  const acls = ctx.broker.acls;
  if (acls === undefined) return true;
  const session = sessionOf(ctx);
  if (acls.authorize(session, operation, { resourceType, name })) return true;
  ctx.broker.logLimiter?.info(
    "authorization-denied",
    `Principal = ${session.principal} is Denied Operation = ${
      codeName(AclOperation, operation)
    } from host = ${session.host} on resource = ${codeName(ResourceType, resourceType)}:${name}`,
  );
  return false;
}

/**
 * {@linkcode authorize} without logging a denial: for what Kafka filters
 * rather than refuses (the topics of Metadata, the groups of ListGroups) and
 * for questions (authorized operations, the first of two alternatives).
 */
export function authorizeQuietly(
  ctx: AuthorizationContext,
  operation: number,
  resourceType: number,
  name: string,
): boolean {
  const acls = ctx.broker.acls;
  return acls === undefined || acls.authorize(sessionOf(ctx), operation, { resourceType, name });
}

/** `operation` on the CLUSTER resource. */
export function authorizeCluster(ctx: AuthorizationContext, operation: number): boolean {
  return authorize(ctx, operation, ResourceType.CLUSTER, CLUSTER_RESOURCE_NAME);
}

/** `operation` on a topic. */
export function authorizeTopic(
  ctx: AuthorizationContext,
  operation: number,
  name: string,
): boolean {
  return authorize(ctx, operation, ResourceType.TOPIC, name);
}

/** `operation` on a group. */
export function authorizeGroup(
  ctx: AuthorizationContext,
  operation: number,
  groupId: string,
): boolean {
  return authorize(ctx, operation, ResourceType.GROUP, groupId);
}

/**
 * The names of `items` (topics or groups) the principal may not perform
 * `operation` on, or `undefined` when it may on all of them: with no
 * authorizer the items are not even looked at, and a caller's fast path is
 * one comparison. Empty names (an unknown topic id) are skipped.
 */
export function refusedNames<T>(
  ctx: AuthorizationContext,
  operation: number,
  resourceType: number,
  items: Iterable<T>,
  nameOf: (item: T) => string,
): ReadonlySet<string> | undefined {
  if (ctx.broker.acls === undefined) return undefined;
  let refused: Set<string> | undefined;
  for (const item of items) {
    const name = nameOf(item);
    if (name === "" || refused?.has(name) || authorize(ctx, operation, resourceType, name)) {
      continue;
    }
    (refused ??= new Set()).add(name);
  }
  return refused;
}

/** The topics of `items` the principal may not perform `operation` on (see {@linkcode refusedNames}). */
export function refusedTopics<T>(
  ctx: AuthorizationContext,
  operation: number,
  items: Iterable<T>,
  nameOf: (item: T) => string,
): ReadonlySet<string> | undefined {
  return refusedNames(ctx, operation, ResourceType.TOPIC, items, nameOf);
}

/**
 * The topics a Fetch may not read: a consumer needs READ on each topic; a
 * follower (`replicaId` >= 0) needs CLUSTER_ACTION on the CLUSTER, and
 * without it is refused every topic, as Kafka does.
 */
export function refusedFetchTopics<T>(
  ctx: AuthorizationContext,
  replicaId: number,
  targets: Iterable<T>,
  nameOf: (target: T) => string,
): ReadonlySet<string> | undefined {
  if (ctx.broker.acls === undefined) return undefined;
  if (replicaId < 0) return refusedTopics(ctx, AclOperation.READ, targets, nameOf);
  if (authorizeCluster(ctx, AclOperation.CLUSTER_ACTION)) return undefined;
  return new Set([...targets].map(nameOf).filter((name) => name !== ""));
}

/**
 * The topics an OffsetForLeaderEpoch may not ask about: CLUSTER_ACTION on the
 * CLUSTER (a follower) allows all, else DESCRIBE on each topic (KIP-320
 * consumers), as Kafka checks; refused ones answer TOPIC_AUTHORIZATION_FAILED.
 */
export function refusedLeaderEpochTopics<T>(
  ctx: AuthorizationContext,
  topics: Iterable<T>,
  nameOf: (topic: T) => string,
): ReadonlySet<string> | undefined {
  if (ctx.broker.acls === undefined) return undefined;
  const cluster = CLUSTER_RESOURCE_NAME;
  if (authorizeQuietly(ctx, AclOperation.CLUSTER_ACTION, ResourceType.CLUSTER, cluster)) {
    return undefined;
  }
  return refusedTopics(ctx, AclOperation.DESCRIBE, topics, nameOf);
}

/**
 * Results in request order when the refused items were left out of the
 * work: each refused item answers `refusedResult(item)`, the others take the
 * next of `allowedResults` (the work's answers for the allowed items, in
 * order).
 */
export function mergeRefused<T, R>(
  items: readonly T[],
  refused: ReadonlySet<string> | undefined,
  nameOf: (item: T) => string,
  allowedResults: readonly R[],
  refusedResult: (item: T) => R,
): R[] {
  if (refused === undefined) return [...allowedResults];
  let next = 0;
  return items.map((item) =>
    refused.has(nameOf(item)) ? refusedResult(item) : allowedResults[next++]
  );
}

/**
 * Creating a topic: CREATE on the CLUSTER, or else CREATE on the topic
 * (CreateTopics, and Metadata's auto-creation).
 */
export function authorizeTopicCreation(ctx: AuthorizationContext, name: string): boolean {
  const cluster = CLUSTER_RESOURCE_NAME;
  return authorizeQuietly(ctx, AclOperation.CREATE, ResourceType.CLUSTER, cluster) ||
    authorizeTopic(ctx, AclOperation.CREATE, name);
}

/**
 * Writing as a transactional id: WRITE on the TRANSACTIONAL_ID (Produce,
 * InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, TxnOffsetCommit;
 * for the transaction coordinator's handlers to call too).
 */
export function authorizeTransactionalId(
  ctx: AuthorizationContext,
  transactionalId: string,
): boolean {
  return authorize(ctx, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, transactionalId);
}

/**
 * An idempotent producer's InitProducerId: IDEMPOTENT_WRITE on the CLUSTER,
 * or WRITE on any topic (Kafka 2.8+, KIP-679).
 */
export function authorizeIdempotentWrite(ctx: AuthorizationContext): boolean {
  const cluster = CLUSTER_RESOURCE_NAME;
  return authorizeQuietly(ctx, AclOperation.IDEMPOTENT_WRITE, ResourceType.CLUSTER, cluster) ||
    authorizeByResourceType(ctx, AclOperation.WRITE, ResourceType.TOPIC);
}

/**
 * Kafka's `Authorizer.authorizeByResourceType`: true when some resource of
 * the type allows `operation` to the principal and no DENY covers it (an
 * ALLOW on a literal name or prefix that no DENY on the same name or a
 * shorter prefix dominates; a DENY on `*` refuses all).
 */
export function authorizeByResourceType(
  ctx: AuthorizationContext,
  operation: number,
  resourceType: number,
): boolean {
  const acls = ctx.broker.acls;
  if (acls === undefined) return true;
  const session = sessionOf(ctx);
  // Kafka checks a made-up name first, so super users (and an open resource) pass.
  if (acls.authorize(session, operation, { resourceType, name: "hardcode" })) return true;
  const deniedLiteral = new Set<string>(), deniedPrefixes = new Set<string>();
  const allowed: { name: string; prefixed: boolean }[] = [];
  const described = acls.describe({
    resourceTypeFilter: resourceType,
    resourceNameFilter: null,
    patternTypeFilter: PatternType.ANY,
    principalFilter: null,
    hostFilter: null,
    operation: AclOperation.ANY,
    permissionType: AclPermissionType.ANY,
  });
  for (const resource of described.resources) {
    const prefixed = resource.patternType === PatternType.PREFIXED;
    for (const acl of resource.acls) {
      if (acl.host !== WILDCARD && acl.host !== session.host) continue;
      if (acl.principal !== session.principal && acl.principal !== WILDCARD_PRINCIPAL) continue;
      if (acl.operation !== operation && acl.operation !== AclOperation.ALL) continue;
      const name = resource.resourceName;
      if (acl.permissionType === AclPermissionType.DENY) {
        if (!prefixed && name === WILDCARD) return false;
        (prefixed ? deniedPrefixes : deniedLiteral).add(name);
      } else if (acl.permissionType === AclPermissionType.ALLOW) {
        if (!prefixed && name === WILDCARD) return true;
        allowed.push({ name, prefixed });
      }
    }
  }
  return allowed.some(({ name, prefixed }) => {
    if (!prefixed && deniedLiteral.has(name)) return false;
    for (let length = 1; length <= name.length; length++) {
      if (deniedPrefixes.has(name.slice(0, length))) return false;
    }
    return true;
  });
}

/**
 * The operations the principal may perform on a resource, as the bit field
 * DescribeGroups, Metadata and DescribeCluster report (bit `1 << code`); with
 * no authorizer, every operation the resource type supports.
 */
export function authorizedOperations(
  ctx: AuthorizationContext,
  resourceType: number,
  name: string,
): number {
  let bits = 0;
  for (const operation of SUPPORTED_OPERATIONS[resourceType] ?? []) {
    if (authorizeQuietly(ctx, operation, resourceType, name)) bits |= 1 << operation;
  }
  return bits;
}

/**
 * The error a transactional request answers before doing anything, as Kafka
 * checks: WRITE on its transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED),
 * then READ on its group when it has one (AddOffsetsToTxn, TxnOffsetCommit:
 * GROUP_AUTHORIZATION_FAILED); NONE when both are allowed.
 */
export function transactionalRequestRefusal(
  ctx: AuthorizationContext,
  transactionalId: string,
  groupId?: string,
): number {
  if (!authorizeTransactionalId(ctx, transactionalId)) {
    return ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
  }
  if (groupId !== undefined && !authorizeGroup(ctx, AclOperation.READ, groupId)) {
    return ErrorCode.GROUP_AUTHORIZATION_FAILED;
  }
  return ErrorCode.NONE;
}
