/**
 * Dynamic client quotas: the `client-id` entities (a named client id, or
 * `<default>` for every client id without its own) and their byte rates, as
 * AlterClientQuotas sets them and DescribeClientQuotas reads them. Validation
 * and filtering follow Kafka's `ClientQuotaControlManager` (same error codes
 * and messages). Kept in `<dataDir>/denka-client-quotas.json`, rewritten
 * atomically on every change.
 *
 * Denka enforces `producer_byte_rate` and `consumer_byte_rate` of client-id
 * entities only: `user` and `ip` entities, `request_percentage` and
 * `controller_mutation_rate` are refused with INVALID_REQUEST rather than
 * stored and silently ignored.
 *
 * @module
 */
import { Errno, IoError, type Libc } from "../ffi/port.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import type { AlterClientQuotasRequestEntryData } from "../protocol/messages/alter_client_quotas.ts";
import type { DescribeClientQuotasRequestComponentData } from "../protocol/messages/describe_client_quotas.ts";

/** Kafka's quota key for produced bytes per second. */
export const PRODUCER_BYTE_RATE = "producer_byte_rate";
/** Kafka's quota key for fetched bytes per second. */
export const CONSUMER_BYTE_RATE = "consumer_byte_rate";
/** A quota key Denka enforces. */
export type QuotaKey = typeof PRODUCER_BYTE_RATE | typeof CONSUMER_BYTE_RATE;
/** Kafka's entity type of client id quotas (`kafka-configs.sh --entity-type clients`). */
export const CLIENT_ID_ENTITY_TYPE = "client-id";

/** The quotas of one entity, by key. */
export type ClientQuotaValues = { [K in QuotaKey]?: number };

/** One result of an alteration, in request order. */
export interface QuotaOutcome {
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

/** A client-id entity (`null`: the `<default>` entity) and its quotas. */
export interface QuotaEntity {
  readonly clientId: string | null;
  readonly values: ClientQuotaValues;
}

/** What a describe found, or why the filter was refused (`entities` null). */
export interface DescribeOutcome extends QuotaOutcome {
  readonly entities: QuotaEntity[] | null;
}

const FILE_NAME = "denka-client-quotas.json";
const FILE_VERSION = 1;
const ENFORCED_KEYS: readonly string[] = [PRODUCER_BYTE_RATE, CONSUMER_BYTE_RATE];
/** Kafka client quota keys that Denka does not enforce. */
const UNENFORCED_KEYS: readonly string[] = ["request_percentage", "controller_mutation_rate"];
const KNOWN_ENTITY_TYPES: readonly string[] = ["user", CLIENT_ID_ENTITY_TYPE, "ip"];
/** Kafka's largest LONG quota value. */
const LONG_MAX = 2 ** 63 - 1;
/** DescribeClientQuotas match types. */
const MATCH_EXACT = 0, MATCH_DEFAULT = 1, MATCH_SPECIFIED = 2;

const NONE: QuotaOutcome = { errorCode: ErrorCode.NONE, errorMessage: null };

function invalid(errorMessage: string): QuotaOutcome {
  return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage };
}

/** The dynamic client-id quotas, persisted in the data directory. */
export class ClientQuotaStore {
  readonly #libc: Libc;
  readonly #path: string;
  readonly #entities = new Map<string | null, ClientQuotaValues>();

  private constructor(libc: Libc, dataDir: string) {
    this.#libc = libc;
    this.#path = `${dataDir}/${FILE_NAME}`;
  }

  /** Reads the quotas saved in `dataDir` (none when the file does not exist). */
  static open(libc: Libc, dataDir: string): ClientQuotaStore {
    const store = new ClientQuotaStore(libc, dataDir);
    let saved: { version: number; entities: QuotaEntity[] };
    try {
      saved = JSON.parse(new TextDecoder().decode(libc.readFile(store.#path)));
    } catch (e) {
      if (e instanceof IoError && e.errno === Errno.ENOENT) return store;
      throw e;
    }
    if (saved.version !== FILE_VERSION || !Array.isArray(saved.entities)) {
      throw new Error(`Unsupported client quota file "${store.#path}".`);
    }
    for (const e of saved.entities) store.#entities.set(e.clientId, { ...e.values });
    return store;
  }

  /** True when no dynamic quota is set. */
  get isEmpty(): boolean {
    return this.#entities.size === 0;
  }

  /** The quotas of a client id entity, `null` for `<default>`; undefined when it has none. */
  get(clientId: string | null): Readonly<ClientQuotaValues> | undefined {
    return this.#entities.get(clientId);
  }

  /**
   * Applies AlterClientQuotas entries: each is validated whole and applied
   * whole, or refused with its error; nothing is applied with
   * `validateOnly`. Saves once when anything changed.
   */
  alter(
    entries: readonly AlterClientQuotasRequestEntryData[],
    validateOnly: boolean,
  ): QuotaOutcome[] {
    const seen = new Set<string | null>();
    let changed = false;
    const outcomes = entries.map((entry) => {
      const checked = checkEntity(entry.entity);
      if ("errorCode" in checked) return checked;
      const clientId = checked.clientId;
      if (seen.has(clientId)) return invalid(`Ignoring duplicate entity ${entityText(clientId)}`);
      seen.add(clientId);
      const next: ClientQuotaValues = { ...this.#entities.get(clientId) };
      const keys = new Set<string>();
      for (const op of entry.ops) {
        if (keys.has(op.key)) {
          return invalid(
            `Duplicate quota key ${op.key} not updating quota for this entity ${
              entityText(clientId)
            }`,
          );
        }
        keys.add(op.key);
        if (op.remove) {
          delete next[op.key as QuotaKey];
          continue;
        }
        const error = checkQuotaValue(op.key, op.value);
        if (error !== undefined) return error;
        next[op.key as QuotaKey] = op.value;
      }
      if (!validateOnly) changed = this.#put(clientId, next) || changed;
      return NONE;
    });
    if (changed) this.#save();
    return outcomes;
  }

  /** The entities a DescribeClientQuotas filter matches, as Kafka matches them. */
  describe(
    components: readonly DescribeClientQuotasRequestComponentData[],
    strict: boolean,
  ): DescribeOutcome {
    const exact = new Map<string, string | null>();
    const anyName = new Set<string>();
    for (const c of components) {
      const error = checkComponent(c, exact, anyName);
      if (error !== undefined) return { ...error, entities: null };
    }
    if ((exact.has("ip") || anyName.has("ip")) && (exact.size + anyName.size > 1)) {
      return {
        ...invalid(
          "Invalid entity filter component combination. IP filter component should not be used with user or clientId filter component.",
        ),
        entities: null,
      };
    }
    const entities: QuotaEntity[] = [];
    for (const [clientId, values] of this.#entities) {
      if (strict && exact.size + anyName.size !== 1) continue;
      const types = [...exact.keys(), ...anyName];
      if (types.some((t) => t !== CLIENT_ID_ENTITY_TYPE)) continue;
      if (exact.has(CLIENT_ID_ENTITY_TYPE) && exact.get(CLIENT_ID_ENTITY_TYPE) !== clientId) {
        continue;
      }
      entities.push({ clientId, values: { ...values } });
    }
    return { ...NONE, entities };
  }

  /** Sets an entity's quotas (none: removes it); true when something changed. */
  #put(clientId: string | null, values: ClientQuotaValues): boolean {
    const before = JSON.stringify(this.#entities.get(clientId) ?? {});
    if (Object.keys(values).length === 0) this.#entities.delete(clientId);
    else this.#entities.set(clientId, values);
    return before !== JSON.stringify(values);
  }

  #save(): void {
    const entities = [...this.#entities].map(([clientId, values]) => ({ clientId, values }));
    const text = JSON.stringify({ version: FILE_VERSION, entities }, null, 1) + "\n";
    this.#libc.writeFileAtomic(this.#path, new TextEncoder().encode(text));
  }
}

/** The client id an AlterClientQuotas entity names (`null`: `<default>`), or why it is refused. */
function checkEntity(
  entity: readonly { entityType: string; entityName: string | null }[],
): { clientId: string | null } | QuotaOutcome {
  if (entity.length === 0) return invalid("Invalid empty client quota entity");
  const types = new Set<string>();
  for (const { entityType, entityName } of entity) {
    if (types.has(entityType)) {
      return invalid(`Invalid client quota entity, duplicate entity entry ${entityType}`);
    }
    types.add(entityType);
    if (!KNOWN_ENTITY_TYPES.includes(entityType)) {
      return invalid(`Unhandled client quota entity type: ${entityType}`);
    }
    if (entityName === "") return invalid(`Empty ${entityType} not supported`);
  }
  if (entity.length !== 1 || entity[0].entityType !== CLIENT_ID_ENTITY_TYPE) {
    return invalid(
      `Denka enforces client-id quotas only, not ${[...types].join(" + ")} quotas.`,
    );
  }
  return { clientId: entity[0].entityName };
}

/** Kafka's `validateQuotaKeyValue` for the keys Denka enforces (both LONGs). */
function checkQuotaValue(key: string, value: number): QuotaOutcome | undefined {
  if (UNENFORCED_KEYS.includes(key)) {
    return invalid(
      `Denka does not enforce ${key}; only ${ENFORCED_KEYS.join(" and ")} can be set.`,
    );
  }
  if (!ENFORCED_KEYS.includes(key)) return invalid(`Invalid configuration key ${key}`);
  if (!(value > 0)) return invalid(`Quota ${key} must be greater than 0`);
  if (value > LONG_MAX) return invalid(`Proposed value for ${key} is too large for a LONG.`);
  if (Math.abs(value % 1) > 1e-6) return invalid(`${key} cannot be a fractional value.`);
  return undefined;
}

/** Kafka's checks of one DescribeClientQuotas filter component; fills `exact` or `anyName`. */
function checkComponent(
  c: DescribeClientQuotasRequestComponentData,
  exact: Map<string, string | null>,
  anyName: Set<string>,
): QuotaOutcome | undefined {
  const type = c.entityType;
  if (type === "") return invalid("Invalid empty entity type.");
  if (exact.has(type) || anyName.has(type)) {
    return invalid(`Entity type ${type} cannot appear more than once in the filter.`);
  }
  if (!KNOWN_ENTITY_TYPES.includes(type)) {
    return {
      errorCode: ErrorCode.UNSUPPORTED_VERSION,
      errorMessage: `Unsupported entity type ${type}`,
    };
  }
  switch (c.matchType) {
    case MATCH_EXACT:
      if (c.match === null) {
        return invalid("Request specified MATCH_TYPE_EXACT, but set match string to null.");
      }
      exact.set(type, c.match);
      return undefined;
    case MATCH_DEFAULT:
      if (c.match !== null) {
        return invalid("Request specified MATCH_TYPE_DEFAULT, but also specified a match string.");
      }
      exact.set(type, null);
      return undefined;
    case MATCH_SPECIFIED:
      if (c.match !== null) {
        return invalid(
          "Request specified MATCH_TYPE_SPECIFIED, but also specified a match string.",
        );
      }
      anyName.add(type);
      return undefined;
    default:
      return {
        errorCode: ErrorCode.UNSUPPORTED_VERSION,
        errorMessage: `Unknown match type ${c.matchType}`,
      };
  }
}

function entityText(clientId: string | null): string {
  return `ClientQuotaEntity(entries={client-id=${clientId ?? "<default>"}})`;
}
