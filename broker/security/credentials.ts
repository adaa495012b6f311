/**
 * SCRAM credentials per user and mechanism, as DescribeUserScramCredentials
 * (50) and AlterUserScramCredentials (51) read and change them, with Kafka's
 * validation, result order and error messages (`ScramControlManager`,
 * `ScramImage.describe`). Kept in `<dataDir>/denka-scram-credentials.json`,
 * rewritten atomically on every change.
 *
 * The file holds what RFC 5802 lets a server keep: salt, iterations,
 * StoredKey and ServerKey. An upsertion carries the client's SaltedPassword
 * (Kafka's admin client derives it, so the password never leaves the
 * client); it is turned into the two keys and dropped.
 *
 * @module
 */
import { Errno, IoError, type Libc } from "../../ffi/port.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { fromBase64, toBase64 } from "./_crypto.ts";
import {
  SCRAM_ITERATIONS_MAX,
  SCRAM_ITERATIONS_MIN,
  SCRAM_MECHANISM_CODES,
  SCRAM_MECHANISMS,
  type ScramCredential,
  scramCredentialFromSaltedPassword,
  type ScramMechanism,
  scramMechanismFromCode,
} from "./scram.ts";

/** The credentials file's name inside the data directory. */
export const SCRAM_CREDENTIALS_FILE_NAME = "denka-scram-credentials.json";
const FILE_VERSION = 1;
/** Owner read and write only: salted keys let an attacker guess passwords offline. */
const SECRET_FILE_MODE = 0o600;

/** An AlterUserScramCredentials deletion (the generated message's field names). */
export interface ScramCredentialDeletion {
  readonly name: string;
  readonly mechanism: number;
}

/** An AlterUserScramCredentials upsertion (the generated message's field names). */
export interface ScramCredentialUpsertion {
  readonly name: string;
  readonly mechanism: number;
  readonly iterations: number;
  readonly salt: Uint8Array<ArrayBuffer>;
  readonly saltedPassword: Uint8Array<ArrayBuffer>;
}

/** One user's outcome in an AlterUserScramCredentials response. */
export interface AlterScramResult {
  readonly user: string;
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

/** One user's outcome in a DescribeUserScramCredentials response. */
export interface DescribeScramResult extends AlterScramResult {
  readonly credentialInfos: { mechanism: number; iterations: number }[];
}

interface SavedCredential {
  mechanism: ScramMechanism;
  salt: string;
  storedKey: string;
  serverKey: string;
  iterations: number;
}

interface SavedFile {
  version: number;
  users: { name: string; credentials: SavedCredential[] }[];
}

type ApiError = { errorCode: number; errorMessage: string | null };
const NONE: ApiError = { errorCode: ErrorCode.NONE, errorMessage: null };

/** Kafka's text for describing a user without credentials (followed by the name). */
const DESCRIBE_USER_THAT_DOES_NOT_EXIST =
  "Attempt to describe a user credential that does not exist: ";
/** Kafka's text for naming a user twice in one describe (followed by the name). */
const DESCRIBE_DUPLICATE_USER =
  "Cannot describe SCRAM credentials for the same user twice in a single request: ";

/** The SCRAM credentials of every user, persisted in the data directory. */
export class ScramCredentialStore {
  readonly #libc: Libc;
  readonly #path: string;
  /** user -> mechanism -> credential. */
  #users = new Map<string, Map<ScramMechanism, ScramCredential>>();

  private constructor(libc: Libc, dataDir: string) {
    this.#libc = libc;
    this.#path = `${dataDir}/${SCRAM_CREDENTIALS_FILE_NAME}`;
  }

  /** Reads the credentials saved in `dataDir` (none when the file does not exist). */
  static open(libc: Libc, dataDir: string): ScramCredentialStore {
    const store = new ScramCredentialStore(libc, dataDir);
    let saved: SavedFile;
    try {
      saved = JSON.parse(new TextDecoder().decode(libc.readFile(store.#path)));
    } catch (e) {
      if (e instanceof IoError && e.errno === Errno.ENOENT) return store;
      throw e;
    }
    if (saved.version !== FILE_VERSION || !Array.isArray(saved.users)) {
      throw new Error(`Unsupported SCRAM credentials file "${store.#path}".`);
    }
    for (const user of saved.users) {
      const byMechanism = new Map<ScramMechanism, ScramCredential>();
      for (const c of user.credentials) {
        byMechanism.set(c.mechanism, parseCredential(c, store.#path));
      }
      store.#users.set(user.name, byMechanism);
    }
    return store;
  }

  /** A user's credential for a mechanism (the lookup a {@linkcode ScramServer} takes). */
  get(user: string, mechanism: ScramMechanism): ScramCredential | undefined {
    return this.#users.get(user)?.get(mechanism);
  }

  /** True when at least one user has a credential. */
  get isEmpty(): boolean {
    return this.#users.size === 0;
  }

  /** DescribeUserScramCredentials: `users` null or empty describes everyone. */
  describe(users: readonly { name: string }[] | null): DescribeScramResult[] {
    const duplicated = new Map<string, boolean>();
    if (users === null || users.length === 0) {
      for (const name of this.#users.keys()) duplicated.set(name, false);
    } else {
      for (const { name } of users) duplicated.set(name, duplicated.has(name));
    }
    return [...duplicated].map(([user, duplicate]) => {
      if (duplicate) {
        const errorMessage = DESCRIBE_DUPLICATE_USER + user;
        return { user, errorCode: ErrorCode.DUPLICATE_RESOURCE, errorMessage, credentialInfos: [] };
      }
      const credentials = this.#users.get(user);
      if (credentials === undefined) {
        const errorMessage = DESCRIBE_USER_THAT_DOES_NOT_EXIST + user;
        return { user, errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage, credentialInfos: [] };
      }
      const credentialInfos = SCRAM_MECHANISMS.filter((m) => credentials.has(m)).map((m) => ({
        mechanism: SCRAM_MECHANISM_CODES[m],
        iterations: credentials.get(m)!.iterations,
      }));
      return { user, ...NONE, credentialInfos };
    });
  }

  /**
   * AlterUserScramCredentials: a user named twice in one request (in either
   * list) is refused with DUPLICATE_RESOURCE; the others are validated and
   * applied one by one, then saved once. Results: deletions, upsertions,
   * then refused duplicates, each in request order.
   */
  alter(
    deletions: readonly ScramCredentialDeletion[],
    upsertions: readonly ScramCredentialUpsertion[],
  ): AlterScramResult[] {
    const { toDelete, toUpsert, duplicates } = splitDuplicates(deletions, upsertions);
    const results: AlterScramResult[] = [];
    const deleted: [string, ScramMechanism][] = [];
    for (const d of toDelete) {
      const mechanism = scramMechanismFromCode(d.mechanism);
      let error = checkNameAndMechanism(d.name, mechanism);
      if (error === NONE && this.get(d.name, mechanism!) === undefined) {
        error = {
          errorCode: ErrorCode.RESOURCE_NOT_FOUND,
          errorMessage: "Attempt to delete a user credential that does not exist",
        };
      }
      if (error === NONE) deleted.push([d.name, mechanism!]);
      results.push({ user: d.name, ...error });
    }
    const upserted: [string, ScramMechanism, ScramCredential][] = [];
    for (const u of toUpsert) {
      const mechanism = scramMechanismFromCode(u.mechanism);
      const error = checkUpsertion(u, mechanism);
      if (error === NONE) {
        const options = { salt: u.salt, iterations: u.iterations };
        const credential = scramCredentialFromSaltedPassword(
          mechanism!,
          u.saltedPassword,
          options,
        );
        upserted.push([u.name, mechanism!, credential]);
      }
      results.push({ user: u.name, ...error });
    }
    for (const user of duplicates) {
      results.push({
        user,
        errorCode: ErrorCode.DUPLICATE_RESOURCE,
        errorMessage: "A user credential cannot be altered twice in the same request",
      });
    }
    if (deleted.length + upserted.length > 0) this.#apply(deleted, upserted);
    return results;
  }

  /** Saves the new state, then makes it current: a failed write changes nothing. */
  #apply(
    deleted: readonly [string, ScramMechanism][],
    upserted: readonly [string, ScramMechanism, ScramCredential][],
  ): void {
    const next = new Map([...this.#users].map(([user, m]) => [user, new Map(m)]));
    for (const [user, mechanism] of deleted) {
      next.get(user)!.delete(mechanism);
      if (next.get(user)!.size === 0) next.delete(user);
    }
    for (const [user, mechanism, credential] of upserted) {
      if (!next.has(user)) next.set(user, new Map());
      next.get(user)!.set(mechanism, credential);
    }
    this.#save(next);
    this.#users = next;
  }

  #save(users: Map<string, Map<ScramMechanism, ScramCredential>>): void {
    const saved: SavedFile = {
      version: FILE_VERSION,
      users: [...users].map(([name, byMechanism]) => ({
        name,
        credentials: [...byMechanism].map(([mechanism, c]) => ({
          mechanism,
          salt: toBase64(c.salt),
          storedKey: toBase64(c.storedKey),
          serverKey: toBase64(c.serverKey),
          iterations: c.iterations,
        })),
      })),
    };
    const text = JSON.stringify(saved, null, 1) + "\n";
    this.#libc.writeFileAtomic(this.#path, new TextEncoder().encode(text), SECRET_FILE_MODE);
  }
}

/** Kafka's duplicate rule: a name seen twice anywhere in the request is refused whole. */
function splitDuplicates(
  deletions: readonly ScramCredentialDeletion[],
  upsertions: readonly ScramCredentialUpsertion[],
) {
  const count = new Map<string, number>();
  for (const { name } of [...deletions, ...upsertions]) count.set(name, (count.get(name) ?? 0) + 1);
  const once = (e: { name: string }) => count.get(e.name) === 1;
  const duplicates = [...count].filter(([, n]) => n > 1).map(([name]) => name);
  return { toDelete: deletions.filter(once), toUpsert: upsertions.filter(once), duplicates };
}

function checkNameAndMechanism(name: string, mechanism: ScramMechanism | undefined): ApiError {
  if (mechanism === undefined) {
    return {
      errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM,
      errorMessage: "Unknown SCRAM mechanism",
    };
  }
  if (name === "") {
    return {
      errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL,
      errorMessage: "Username must not be empty",
    };
  }
  return NONE;
}

function checkUpsertion(
  u: ScramCredentialUpsertion,
  mechanism: ScramMechanism | undefined,
): ApiError {
  const error = checkNameAndMechanism(u.name, mechanism);
  if (error !== NONE) return error;
  if (u.iterations < SCRAM_ITERATIONS_MIN) {
    return { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: "Too few iterations" };
  }
  if (u.iterations > SCRAM_ITERATIONS_MAX) {
    return { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: "Too many iterations" };
  }
  if (u.salt.length === 0 || u.saltedPassword.length === 0) {
    return {
      errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL,
      errorMessage: "Salt and salted password must not be empty",
    };
  }
  return NONE;
}

function parseCredential(c: SavedCredential, path: string): ScramCredential {
  const salt = fromBase64(c.salt), storedKey = fromBase64(c.storedKey);
  const serverKey = fromBase64(c.serverKey);
  if (
    !SCRAM_MECHANISMS.includes(c.mechanism) || salt === undefined || storedKey === undefined ||
    serverKey === undefined || !Number.isSafeInteger(c.iterations)
  ) {
    throw new Error(`Malformed credential in SCRAM credentials file "${path}".`);
  }
  return { salt, storedKey, serverKey, iterations: c.iterations };
}
