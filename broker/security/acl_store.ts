/**
 * The broker's ACLs: CreateAcls (30), DescribeAcls (29) and DeleteAcls (31)
 * as Kafka answers them, the {@linkcode AclAuthorizer} kept in step, and
 * `<dataDir>/denka-acls.json`, rewritten atomically on every change (the new
 * list is saved before it is applied, so a failed write changes nothing).
 *
 * @module
 */
import { Errno, IoError, type Libc } from "../../ffi/port.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import {
  AclAuthorizer,
  type AclAuthorizerOptions,
  type AclBinding,
  type AclBindingFilter,
  aclCreationProblem,
  aclFilterMatches,
  aclFilterProblem,
  type AclResource,
  type Session,
} from "./acl.ts";

/** The ACL file's name inside the data directory. */
export const ACL_FILE_NAME = "denka-acls.json";
const FILE_VERSION = 1;
/** Owner read and write only: the ACLs say who may do what. */
const SECRET_FILE_MODE = 0o600;

/** A CreateAcls creation (the generated message's field names). */
export interface AclCreation {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly resourcePatternType: number;
  readonly principal: string;
  readonly host: string;
  readonly operation: number;
  readonly permissionType: number;
}

/** An error code and message, as each API's results carry them. */
export interface AclApiError {
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

/** One resource pattern of a DescribeAcls response, with its ACLs. */
export interface DescribeAclsResource {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly patternType: number;
  readonly acls: { principal: string; host: string; operation: number; permissionType: number }[];
}

/** One ACL a DeleteAcls filter removed. */
export interface DeleteAclsMatchingAcl extends AclApiError {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly patternType: number;
  readonly principal: string;
  readonly host: string;
  readonly operation: number;
  readonly permissionType: number;
}

const NONE: AclApiError = { errorCode: ErrorCode.NONE, errorMessage: null };

function keyOf(acl: AclBinding): string {
  return JSON.stringify([
    acl.resourceType,
    acl.patternType,
    acl.resourceName,
    acl.principal,
    acl.host,
    acl.operation,
    acl.permissionType,
  ]);
}

/** Every ACL of the broker, persisted in the data directory. */
export class AclStore {
  readonly #libc: Libc;
  readonly #path: string;
  readonly #authorizer: AclAuthorizer;
  /** In creation order, by {@linkcode keyOf}. */
  #acls = new Map<string, AclBinding>();

  private constructor(libc: Libc, dataDir: string, options: AclAuthorizerOptions) {
    this.#libc = libc;
    this.#path = `${dataDir}/${ACL_FILE_NAME}`;
    this.#authorizer = new AclAuthorizer(options);
  }

  /** Reads the ACLs saved in `dataDir` (none when the file does not exist). */
  static open(libc: Libc, dataDir: string, options: AclAuthorizerOptions = {}): AclStore {
    const store = new AclStore(libc, dataDir, options);
    let saved: { version: number; acls: AclBinding[] };
    try {
      saved = JSON.parse(new TextDecoder().decode(libc.readFile(store.#path)));
    } catch (e) {
      if (e instanceof IoError && e.errno === Errno.ENOENT) return store;
      throw e;
    }
    if (saved.version !== FILE_VERSION || !Array.isArray(saved.acls)) {
      throw new Error(`Unsupported ACL file "${store.#path}".`);
    }
    for (const acl of saved.acls) {
      const problem = aclCreationProblem(acl);
      if (problem !== undefined) throw new Error(`Invalid ACL in "${store.#path}": ${problem}`);
      store.#insert(store.#acls, acl);
    }
    return store;
  }

  /** The number of ACLs. */
  get size(): number {
    return this.#acls.size;
  }

  /** True when `session` may perform `operation` on `resource`. */
  authorize(session: Session, operation: number, resource: AclResource): boolean {
    return this.#authorizer.authorize(session, operation, resource);
  }

  /** CreateAcls: one result per creation, in order; an ACL that exists already is a success. */
  create(creations: readonly AclCreation[]): AclApiError[] {
    const next = new Map(this.#acls);
    const added: AclBinding[] = [];
    const results = creations.map((c): AclApiError => {
      const acl: AclBinding = {
        resourceType: c.resourceType,
        resourceName: c.resourceName,
        patternType: c.resourcePatternType,
        principal: c.principal,
        host: c.host,
        operation: c.operation,
        permissionType: c.permissionType,
      };
      const problem = aclCreationProblem(acl);
      if (problem !== undefined) {
        return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: problem };
      }
      if (!next.has(keyOf(acl))) {
        next.set(keyOf(acl), acl);
        added.push(acl);
      }
      return NONE;
    });
    if (added.length > 0) {
      this.#save(next);
      this.#acls = next;
      for (const acl of added) this.#authorizer.add(acl);
    }
    return results;
  }

  /** DescribeAcls: the matching ACLs grouped by resource pattern, or why the filter is refused. */
  describe(filter: AclBindingFilter): AclApiError & { resources: DescribeAclsResource[] } {
    const problem = aclFilterProblem(filter);
    if (problem !== undefined) {
      return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: problem, resources: [] };
    }
    const byPattern = new Map<string, DescribeAclsResource>();
    for (const acl of this.#acls.values()) {
      if (!aclFilterMatches(filter, acl)) continue;
      const key = JSON.stringify([acl.resourceType, acl.patternType, acl.resourceName]);
      let resource = byPattern.get(key);
      if (resource === undefined) {
        const { resourceType, resourceName, patternType } = acl;
        byPattern.set(key, resource = { resourceType, resourceName, patternType, acls: [] });
      }
      const { principal, host, operation, permissionType } = acl;
      resource.acls.push({ principal, host, operation, permissionType });
    }
    return { ...NONE, resources: [...byPattern.values()] };
  }

  /**
   * DeleteAcls: per filter, the ACLs it matched (an ACL two filters match is
   * listed under both, deleted once), or why the filter is refused.
   */
  delete(
    filters: readonly AclBindingFilter[],
  ): (AclApiError & { matchingAcls: DeleteAclsMatchingAcl[] })[] {
    const next = new Map(this.#acls);
    const removed: AclBinding[] = [];
    const results = filters.map((filter) => {
      const problem = aclFilterProblem(filter);
      if (problem !== undefined) {
        return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: problem, matchingAcls: [] };
      }
      const matchingAcls: DeleteAclsMatchingAcl[] = [];
      for (const [key, acl] of this.#acls) {
        if (!aclFilterMatches(filter, acl)) continue;
        matchingAcls.push({ ...NONE, ...acl });
        if (next.delete(key)) removed.push(acl);
      }
      return { ...NONE, matchingAcls };
    });
    if (removed.length > 0) {
      this.#save(next);
      this.#acls = next;
      for (const acl of removed) this.#authorizer.remove(acl);
    }
    return results;
  }

  #insert(into: Map<string, AclBinding>, acl: AclBinding): void {
    if (into.has(keyOf(acl))) return;
    into.set(keyOf(acl), acl);
    this.#authorizer.add(acl);
  }

  #save(acls: Map<string, AclBinding>): void {
    const text = JSON.stringify({ version: FILE_VERSION, acls: [...acls.values()] }, null, 1) +
      "\n";
    this.#libc.writeFileAtomic(this.#path, new TextEncoder().encode(text), SECRET_FILE_MODE);
  }
}
