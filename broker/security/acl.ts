/**
 * Kafka's access-control model (KIP-11, KIP-290): an ACL binds a resource
 * pattern (type, LITERAL or PREFIXED name, `*` for every name) to an entry
 * (principal, host, operation, ALLOW or DENY). {@linkcode AclAuthorizer}
 * answers `authorize(session, operation, resource)` as Kafka's
 * `StandardAuthorizer` does: super users may do anything; a DENY that
 * matches wins; else an ALLOW that matches, where READ, WRITE, DELETE and
 * ALTER imply DESCRIBE, ALTER_CONFIGS implies DESCRIBE_CONFIGS, and ALL
 * implies everything; a resource without any ACL is allowed only with
 * `allow.everyone.if.no.acl.found`. Numeric codes are Kafka's, as CreateAcls,
 * DescribeAcls and DeleteAcls carry them.
 *
 * The index: per resource type, a hash map from literal name to its ACLs
 * and one from prefix to its ACLs, plus the sorted list of distinct prefix
 * lengths. A check costs two literal look-ups (the name and `*`) and one
 * look-up per distinct prefix length, whatever the number of ACLs.
 *
 * @module
 */

/** Kafka's `ResourceType` codes. */
export const ResourceType = {
  UNKNOWN: 0,
  ANY: 1,
  TOPIC: 2,
  GROUP: 3,
  CLUSTER: 4,
  TRANSACTIONAL_ID: 5,
  DELEGATION_TOKEN: 6,
  USER: 7,
} as const;

/** Kafka's `PatternType` codes (MATCH and ANY only in filters). */
export const PatternType = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const;

/** Kafka's `AclOperation` codes. */
export const AclOperation = {
  UNKNOWN: 0,
  ANY: 1,
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
  CREATE_TOKENS: 13,
  DESCRIBE_TOKENS: 14,
  TWO_PHASE_COMMIT: 15,
} as const;

/** Kafka's `AclPermissionType` codes. */
export const AclPermissionType = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const;

/** The resource name that matches every name in a LITERAL pattern, and the host that matches every host. */
export const WILDCARD = "*";
/** The principal that matches every principal. */
export const WILDCARD_PRINCIPAL = "User:*";
/** The one name of the CLUSTER resource. */
export const CLUSTER_RESOURCE_NAME = "kafka-cluster";

/** One ACL, in CreateAcls' terms. */
export interface AclBinding {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly patternType: number;
  readonly principal: string;
  readonly host: string;
  readonly operation: number;
  readonly permissionType: number;
}

/** A DescribeAcls / DeleteAcls filter (null: any). */
export interface AclBindingFilter {
  readonly resourceTypeFilter: number;
  readonly resourceNameFilter: string | null;
  readonly patternTypeFilter: number;
  readonly principalFilter: string | null;
  readonly hostFilter: string | null;
  readonly operation: number;
  readonly permissionType: number;
}

/** Who asks: `User:<name>` and the client's address. */
export interface Session {
  readonly principal: string;
  readonly host: string;
}

/** What is asked for: a resource type and one concrete name. */
export interface AclResource {
  readonly resourceType: number;
  readonly name: string;
}

/** The principal of an authenticated user (Kafka's `KafkaPrincipal` string). */
export function userPrincipal(name: string): string {
  return `User:${name}`;
}

/** The Kafka name of a code in one of the tables above (`UNKNOWN` for a code it lacks). */
export function codeName(table: Readonly<Record<string, number>>, code: number): string {
  for (const [name, value] of Object.entries(table)) if (value === code) return name;
  return "UNKNOWN";
}

function known(table: Readonly<Record<string, number>>, code: number): boolean {
  return code !== 0 && codeName(table, code) !== "UNKNOWN";
}

/**
 * Why Kafka refuses to create `acl` (INVALID_REQUEST), or `undefined`
 * (`AclApis` then `AclControlManager.validateNewAcl`, same texts).
 */
export function aclCreationProblem(acl: AclBinding): string | undefined {
  if (acl.resourceType === ResourceType.CLUSTER && acl.resourceName !== CLUSTER_RESOURCE_NAME) {
    return `The only valid name for the CLUSTER resource is ${CLUSTER_RESOURCE_NAME}`;
  }
  if (acl.resourceName === "") return "Invalid empty resource name";
  if (!known(ResourceType, acl.resourceType) || acl.resourceType === ResourceType.ANY) {
    return `Invalid resourceType ${codeName(ResourceType, acl.resourceType)}`;
  }
  if (acl.patternType !== PatternType.LITERAL && acl.patternType !== PatternType.PREFIXED) {
    return `Invalid patternType ${codeName(PatternType, acl.patternType)}`;
  }
  if (!known(AclOperation, acl.operation) || acl.operation === AclOperation.ANY) {
    return `Invalid operation ${codeName(AclOperation, acl.operation)}`;
  }
  if (
    acl.permissionType !== AclPermissionType.ALLOW && acl.permissionType !== AclPermissionType.DENY
  ) {
    return `Invalid permissionType ${codeName(AclPermissionType, acl.permissionType)}`;
  }
  if (!acl.principal.includes(":")) {
    return `Could not parse principal from \`${acl.principal}\` (no colon is present separating the principal type from the principal name)`;
  }
  return undefined;
}

/** Why Kafka refuses a filter (INVALID_REQUEST), or `undefined`. */
export function aclFilterProblem(filter: AclBindingFilter): string | undefined {
  if (
    !known(ResourceType, filter.resourceTypeFilter) || !known(PatternType, filter.patternTypeFilter)
  ) {
    return "Unknown patternFilter.";
  }
  if (!known(AclOperation, filter.operation) || !known(AclPermissionType, filter.permissionType)) {
    return "Unknown entryFilter.";
  }
  return undefined;
}

/** Kafka's `AclBindingFilter.matches`. */
export function aclFilterMatches(filter: AclBindingFilter, acl: AclBinding): boolean {
  return patternFilterMatches(filter, acl) &&
    (filter.principalFilter === null || filter.principalFilter === acl.principal) &&
    (filter.hostFilter === null || filter.hostFilter === acl.host) &&
    (filter.operation === AclOperation.ANY || filter.operation === acl.operation) &&
    (filter.permissionType === AclPermissionType.ANY ||
      filter.permissionType === acl.permissionType);
}

/** Kafka's `ResourcePatternFilter.matches`: MATCH finds the patterns that apply to a name. */
function patternFilterMatches(filter: AclBindingFilter, acl: AclBinding): boolean {
  const type = filter.resourceTypeFilter, pattern = filter.patternTypeFilter;
  const name = filter.resourceNameFilter;
  if (type !== ResourceType.ANY && type !== acl.resourceType) return false;
  if (pattern !== PatternType.ANY && pattern !== PatternType.MATCH && pattern !== acl.patternType) {
    return false;
  }
  if (name === null) return true;
  if (pattern === PatternType.ANY || pattern === acl.patternType) return name === acl.resourceName;
  if (acl.patternType === PatternType.LITERAL) {
    return name === acl.resourceName || acl.resourceName === WILDCARD;
  }
  return name.startsWith(acl.resourceName);
}

/** The ACLs of one resource type, indexed by name. */
class TypeIndex {
  readonly literal = new Map<string, AclBinding[]>();
  readonly prefixed = new Map<string, AclBinding[]>();
  /** Distinct prefix lengths, ascending, with how many prefixes have each. */
  prefixLengths: number[] = [];
  readonly prefixLengthCounts = new Map<number, number>();
}

/** Options of an {@linkcode AclAuthorizer}. */
export interface AclAuthorizerOptions {
  /** Kafka's `super.users`: principals allowed everything. */
  readonly superUsers?: readonly string[];
  /** Kafka's `allow.everyone.if.no.acl.found` (default false). */
  readonly allowEveryoneIfNoAclFound?: boolean;
}

/** Answers whether a session may perform an operation on a resource. */
export class AclAuthorizer {
  readonly #superUsers: ReadonlySet<string>;
  readonly #allowIfNoAcl: boolean;
  readonly #byType = new Map<number, TypeIndex>();

  constructor(options: AclAuthorizerOptions = {}) {
    this.#superUsers = new Set(options.superUsers ?? []);
    this.#allowIfNoAcl = options.allowEveryoneIfNoAclFound ?? false;
  }

  /** Adds a valid ACL (see {@linkcode aclCreationProblem}); the caller keeps it unique. */
  add(acl: AclBinding): void {
    let index = this.#byType.get(acl.resourceType);
    if (index === undefined) this.#byType.set(acl.resourceType, index = new TypeIndex());
    const byName = acl.patternType === PatternType.PREFIXED ? index.prefixed : index.literal;
    const list = byName.get(acl.resourceName);
    if (list !== undefined) {
      list.push(acl);
      return;
    }
    byName.set(acl.resourceName, [acl]);
    if (acl.patternType !== PatternType.PREFIXED) return;
    const length = acl.resourceName.length;
    const count = index.prefixLengthCounts.get(length) ?? 0;
    index.prefixLengthCounts.set(length, count + 1);
    if (count === 0) {
      index.prefixLengths = [...index.prefixLengthCounts.keys()].sort((a, b) => a - b);
    }
  }

  /** Removes an ACL added before (the same object). */
  remove(acl: AclBinding): void {
    const index = this.#byType.get(acl.resourceType);
    const byName = acl.patternType === PatternType.PREFIXED ? index?.prefixed : index?.literal;
    const list = byName?.get(acl.resourceName);
    const at = list?.indexOf(acl) ?? -1;
    if (at < 0) return;
    list!.splice(at, 1);
    if (list!.length > 0) return;
    byName!.delete(acl.resourceName);
    if (acl.patternType !== PatternType.PREFIXED) return;
    const length = acl.resourceName.length;
    const count = index!.prefixLengthCounts.get(length)! - 1;
    if (count > 0) {
      index!.prefixLengthCounts.set(length, count);
      return;
    }
    index!.prefixLengthCounts.delete(length);
    index!.prefixLengths = index!.prefixLengths.filter((l) => l !== length);
  }

  /** True when `session` may perform `operation` on `resource`. */
  authorize(session: Session, operation: number, resource: AclResource): boolean {
    if (this.#superUsers.has(session.principal)) return true;
    const index = this.#byType.get(resource.resourceType);
    if (index === undefined) return this.#allowIfNoAcl;
    const host = normalizeHost(session.host);
    const verdict = new Verdict(session.principal, host, operation);
    const name = resource.name;
    verdict.consider(index.literal.get(name));
    if (name !== WILDCARD) verdict.consider(index.literal.get(WILDCARD));
    for (const length of index.prefixLengths) {
      if (length > name.length || verdict.denied) break;
      verdict.consider(index.prefixed.get(name.slice(0, length)));
    }
    if (verdict.denied) return false;
    return verdict.found ? verdict.allowed : this.#allowIfNoAcl;
  }
}

/** The running outcome of one check over the ACLs that apply to a resource. */
class Verdict {
  found = false;
  allowed = false;
  denied = false;
  readonly #principal: string;
  readonly #host: string;
  readonly #operation: number;

  constructor(principal: string, host: string, operation: number) {
    this.#principal = principal;
    this.#host = host;
    this.#operation = operation;
  }

  consider(acls: readonly AclBinding[] | undefined): void {
    if (acls === undefined) return;
    this.found = true;
    for (const acl of acls) {
      if (acl.principal !== this.#principal && acl.principal !== WILDCARD_PRINCIPAL) continue;
      if (acl.host !== WILDCARD && acl.host !== this.#host) continue;
      if (acl.permissionType === AclPermissionType.DENY) {
        if (acl.operation === this.#operation || acl.operation === AclOperation.ALL) {
          this.denied = true;
        }
      } else if (implies(acl.operation, this.#operation)) {
        this.allowed = true;
      }
    }
  }
}

/** True when an ALLOW for `granted` allows `wanted` (Kafka's implied operations). */
function implies(granted: number, wanted: number): boolean {
  if (granted === wanted || granted === AclOperation.ALL) return true;
  if (wanted === AclOperation.DESCRIBE) {
    return granted === AclOperation.READ || granted === AclOperation.WRITE ||
      granted === AclOperation.DELETE || granted === AclOperation.ALTER;
  }
  return wanted === AclOperation.DESCRIBE_CONFIGS && granted === AclOperation.ALTER_CONFIGS;
}

/** An IPv4-mapped IPv6 address as its IPv4 form (how a dual-stack socket may report a client). */
export function normalizeHost(host: string): string {
  return host.startsWith("::ffff:") && host.includes(".") ? host.slice(7) : host;
}

/** Kafka's `super.users` value (`User:a;User:b`) as a list. */
export function parseSuperUsers(text: string): string[] {
  return text.split(";").map((s) => s.trim()).filter((s) => s !== "");
}
