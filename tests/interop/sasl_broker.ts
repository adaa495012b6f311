/**
 * A broker with a SASL listener for the SASL suites and the login
 * benchmark: users created in its data directory before it starts (as
 * `denka users add` does), an ES256 key whose public half is the
 * OAUTHBEARER JWKS file, and a way to sign tokens with the private half.
 * In-process, or `bun run main.ts` under `DENKA_TEST_RUNTIME=bun`.
 *
 * @module
 */
import { Broker } from "../../broker/broker.ts";
import { resolveConfig } from "../../broker/config.ts";
import { randomBytes } from "../../broker/security/_crypto.ts";
import { newSigner, signJwt } from "../../broker/security/_test_jwt.ts";
import { ScramCredentialStore } from "../../broker/security/credentials.ts";
import {
  SCRAM_ITERATIONS_MIN,
  SCRAM_MECHANISM_CODES,
  type ScramMechanism,
  scramSaltedPassword,
} from "../../broker/security/scram.ts";
import { loadLibc } from "../../ffi/load.ts";
import { parsePartitionDirName } from "../../storage/log_files.ts";
import type { BoundListener } from "../../broker/kafka_listeners.ts";
import type { SaslCounters } from "../../broker/security/sasl_session.ts";
import { readSaslMetrics, startBunBrokerWithFlags, TEST_RUNTIME } from "./bun_broker.ts";

/** A user with a SCRAM credential for each mechanism listed. */
export interface TestUser {
  readonly name: string;
  readonly password: string;
  readonly mechanisms: readonly ScramMechanism[];
}

/** The users every SASL test broker has. */
export const SASL_TEST_USERS: readonly TestUser[] = [
  { name: "alice", password: "alice-secret", mechanisms: ["SCRAM-SHA-256", "SCRAM-SHA-512"] },
  { name: "bob", password: "bob-secret", mechanisms: ["SCRAM-SHA-512"] },
];

/** The token issuer and audience the test broker expects. */
export const TEST_ISSUER = "https://issuer.denka.test";
export const TEST_AUDIENCE = "denka";

/** A running SASL test broker. */
export interface SaslTestBroker {
  /** Every Kafka listener as bound. */
  readonly listeners: readonly BoundListener[];
  /** `http://host:port` when the options turned HTTP on, else undefined. */
  readonly httpUrl: string | undefined;
  readonly dataDir: string;
  /** `host:port` of the first SASL listener. */
  readonly bootstrap: string;
  /** A JWT the broker accepts unless the claims say otherwise (sub, exp, iss, aud preset). */
  token(claims?: Record<string, unknown>): Promise<string>;
  /** The login counters now (under Bun, read from the broker's `/metrics`). */
  saslCounters(): Promise<SaslCounters>;
  /** Whether the broker has topic `name`. */
  hasTopic(name: string): Promise<boolean>;
}

/** Creates `users`' SCRAM credentials in `dataDir` (salted, iterated keys only). */
export async function addScramUsers(dataDir: string, users: readonly TestUser[]): Promise<void> {
  const store = ScramCredentialStore.open(await loadLibc(), dataDir);
  for (const user of users) {
    for (const mechanism of user.mechanisms) {
      const salt = randomBytes(32);
      const iterations = SCRAM_ITERATIONS_MIN;
      const saltedPassword = await scramSaltedPassword(mechanism, user.password, {
        salt,
        iterations,
      });
      const mechanismCode = SCRAM_MECHANISM_CODES[mechanism];
      const [result] = store.alter([], [{
        name: user.name,
        mechanism: mechanismCode,
        iterations,
        salt,
        saltedPassword,
      }]);
      if (result.errorCode !== 0) throw new Error(`Cannot add user "${user.name}".`);
    }
  }
}

/**
 * Runs `fn` against a broker whose listeners are `SASL_PLAINTEXT` and
 * `PLAINTEXT`, both on free ports, with `options` as extra broker options
 * (`--name` without dashes; `listeners` replaces the pair). `bootstrap` is
 * the first SASL listener's address.
 */
export async function withSaslBroker<T>(
  options: Record<string, string>,
  fn: (t: SaslTestBroker) => Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "denka-sasl-" });
  const dataDir = `${dir}/data`;
  try {
    await Deno.mkdir(dataDir);
    await addScramUsers(dataDir, SASL_TEST_USERS);
    const signer = await newSigner("ES256", "test-key");
    await Deno.writeTextFile(`${dir}/jwks.json`, JSON.stringify({ keys: [signer.publicJwk] }));
    const flags = {
      listeners: "SASL_PLAINTEXT://127.0.0.1:0,PLAINTEXT://127.0.0.1:0",
      "data-dir": dataDir,
      http: "off",
      "log-level": "warn",
      "sasl-oauthbearer-jwks-endpoint-url": `file://${dir}/jwks.json`,
      "sasl-oauthbearer-expected-issuer": TEST_ISSUER,
      "sasl-oauthbearer-expected-audience": TEST_AUDIENCE,
      ...options,
    };
    const token = (claims = {}) =>
      signJwt(signer, {
        sub: "svc-orders",
        iss: TEST_ISSUER,
        aud: TEST_AUDIENCE,
        exp: Math.floor(Date.now() / 1000) + 300,
        ...claims,
      });
    const broker = TEST_RUNTIME === "bun"
      ? await bunSaslBroker(flags)
      : await denoSaslBroker(flags);
    try {
      const sasl = broker.listeners.find((l) => l.securityProtocol.startsWith("SASL_"))!;
      return await fn({ ...broker, dataDir, bootstrap: `${sasl.hostname}:${sasl.port}`, token });
    } finally {
      await broker.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

type StartedSaslBroker =
  & Pick<SaslTestBroker, "listeners" | "httpUrl" | "saslCounters" | "hasTopic">
  & { close(): Promise<void> };

async function denoSaslBroker(flags: Record<string, string>): Promise<StartedSaslBroker> {
  const broker = await Broker.start(resolveConfig([{ options: flags, topics: {} }]));
  return {
    listeners: broker.listeners,
    httpUrl: broker.httpUrl,
    saslCounters: () => Promise.resolve({ ...broker.sasl.counters }),
    hasTopic: (name) => Promise.resolve(broker.topics.get(name) !== undefined),
    close: () => broker.close(),
  };
}

/** The same broker as `bun run main.ts`; its counters from `/metrics`, its topics from disk. */
async function bunSaslBroker(flags: Record<string, string>): Promise<StartedSaslBroker> {
  const broker = await startBunBrokerWithFlags(flags);
  const dataDir = flags["data-dir"];
  return {
    listeners: broker.listeners,
    httpUrl: broker.httpUrl,
    saslCounters: () => readSaslMetrics(broker),
    // A topic's partitions are directories `<topic>-<index>` of the data directory.
    hasTopic: async (name) => {
      for await (const entry of Deno.readDir(dataDir)) {
        if (entry.isDirectory && parsePartitionDirName(entry.name)?.topic === name) return true;
      }
      return false;
    },
    close: () => broker.close(),
  };
}
