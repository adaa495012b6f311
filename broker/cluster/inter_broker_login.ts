/**
 * A broker's SASL login to another broker's inter-broker listener (Kafka's
 * `sasl.mechanism.inter.broker.protocol`, default PLAIN): SaslHandshake v1,
 * then SaslAuthenticate v2 frames, as Kafka's clients send them since
 * KIP-152. PLAIN sends one token; SCRAM-SHA-256/512 send client-first and
 * client-final and check the server's signature (`security/scram_client.ts`).
 *
 * Kafka takes the broker's own login from
 * `listener.name.<listener>.<mechanism>.sasl.jaas.config`; Denka takes it from
 * `--inter-broker-username` and `--inter-broker-password-file`.
 *
 * @module
 */
import { saslAuthenticateApi, saslHandshakeApi } from "../../protocol/messages/mod.ts";
import { ScramClient } from "../security/scram_client.ts";
import type { Libc } from "../../ffi/port.ts";
import type { BrokerClient } from "./broker_client.ts";

/** The mechanisms a broker can log in to another broker with. */
export const INTER_BROKER_SASL_MECHANISMS = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] as const;

/** One of {@linkcode INTER_BROKER_SASL_MECHANISMS}. */
export type InterBrokerSaslMechanism = typeof INTER_BROKER_SASL_MECHANISMS[number];

/** The broker's own SASL login on the inter-broker listener. */
export interface InterBrokerSasl {
  readonly mechanism: InterBrokerSaslMechanism;
  readonly username: string;
  readonly password: string;
}

/**
 * The login with its password read from `settings.passwordFile` (one line, a trailing
 * newline dropped); throws when the file cannot be read or holds no password.
 */
export function readInterBrokerSasl(
  libc: Pick<Libc, "readFile">,
  settings: { mechanism: InterBrokerSaslMechanism; username: string; passwordFile: string },
): InterBrokerSasl {
  let password: string;
  try {
    password = new TextDecoder().decode(libc.readFile(settings.passwordFile));
  } catch (e) {
    throw new Error(
      `Cannot read the inter-broker password file "${settings.passwordFile}": ${
        (e as Error).message
      }`,
    );
  }
  password = password.replace(/\r?\n$/, "");
  if (password === "") {
    throw new Error(`The inter-broker password file "${settings.passwordFile}" is empty.`);
  }
  return { mechanism: settings.mechanism, username: settings.username, password };
}

/** SaslHandshake v1: the client then sends the tokens in SaslAuthenticate frames. */
export const SASL_HANDSHAKE_VERSION = 1;
/** SaslAuthenticate v2 (flexible). */
export const SASL_AUTHENTICATE_VERSION = 2;

/**
 * Logs `client` in with `login`; throws with the leader's error message when
 * the mechanism is not enabled there, the login is refused, or (SCRAM) the
 * server's signature does not verify. The caller closes the connection then.
 */
export async function interBrokerLogin(
  client: BrokerClient,
  login: InterBrokerSasl,
): Promise<void> {
  const handshake = await client.request(saslHandshakeApi, SASL_HANDSHAKE_VERSION, {
    mechanism: login.mechanism,
  });
  if (handshake.errorCode !== 0) {
    throw new Error(
      `SASL mechanism "${login.mechanism}" is not enabled on the leader (error code ${handshake.errorCode}, enabled: ${
        handshake.mechanisms.join(", ") || "none"
      })`,
    );
  }
  if (login.mechanism === "PLAIN") {
    await authenticate(
      client,
      login,
      new TextEncoder().encode(`\0${login.username}\0${login.password}`),
    );
    return;
  }
  const scram = new ScramClient(login.mechanism, login);
  const serverFirst = await authenticate(client, login, scram.firstMessage());
  const serverFinal = await authenticate(client, login, await scram.finalMessage(serverFirst));
  scram.verifyServerFinal(serverFinal);
}

async function authenticate(
  client: BrokerClient,
  login: InterBrokerSasl,
  authBytes: Uint8Array,
): Promise<Uint8Array> {
  const response = await client.request(saslAuthenticateApi, SASL_AUTHENTICATE_VERSION, {
    authBytes,
  });
  if (response.errorCode !== 0) {
    throw new Error(
      `SASL ${login.mechanism} login as "${login.username}" failed (error code ${response.errorCode}): ${
        response.errorMessage ?? "no message"
      }`,
    );
  }
  return response.authBytes;
}
