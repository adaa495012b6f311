/**
 * One connection's SASL state machine, as Kafka's `SaslServerAuthenticator`
 * runs it on a SASL_PLAINTEXT or SASL_SSL listener:
 *
 * - Before authentication only ApiVersions, SaslHandshake and
 *   SaslAuthenticate are served; any other request closes the connection
 *   ("Unexpected Kafka request of type ... during SASL handshake.").
 * - SaslHandshake names a mechanism: not enabled is UNSUPPORTED_SASL_MECHANISM
 *   with the enabled list, then the connection is closed. Handshake v1 is
 *   followed by SaslAuthenticate requests carrying the tokens; handshake v0
 *   (kafka-python 2.0) by the bare tokens, each a size-prefixed frame
 *   without a request header, answered the same way.
 * - A failed login is answered with SASL_AUTHENTICATION_FAILED and the
 *   mechanism's message after the {@linkcode LoginThrottle}'s delay, then
 *   the connection is closed (v0: closed without an answer, as Kafka does).
 *   A SASL request out of order is ILLEGAL_SASL_STATE.
 * - Success sets `connection.principal` to `User:<name>`. With
 *   SaslAuthenticate v1+ the response carries the session's lifetime
 *   (KIP-368): the shorter of `connections.max.reauth.ms` and the
 *   credential's own (a token's `exp`), 0 when neither is set. A connection
 *   whose session has expired is closed at its next request unless that
 *   request is a SaslHandshake starting re-authentication, which must use the
 *   same mechanism and end with the same principal.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import { ApiKey, apiTable } from "../../protocol/messages/mod.ts";
import type { SaslAuthenticateResponse } from "../../protocol/messages/sasl_authenticate.ts";
import type { SaslHandshakeResponse } from "../../protocol/messages/sasl_handshake.ts";
import type { SendChunk } from "../../protocol/send_plan.ts";
import { FrameError } from "../connection.ts";
import { hostOf } from "../connection_table.ts";
import type { LoginThrottle } from "./login_throttle.ts";
import type { SaslServer, SaslStep } from "./sasl.ts";

/** What a session needs of its connection (a `Connection` in the broker). */
export interface SaslConnection {
  principal: string;
  readonly socket: { readonly remoteAddress: string };
  /** Resolves after `durationMs`, or at once if the connection closes. */
  mute(durationMs: number): Promise<void>;
  send(plan: readonly SendChunk[], onSettled?: () => void): Promise<void>;
  close(reason?: string): void;
}

/** Counts of what SASL sessions did (tests, the benchmark, metrics). */
export interface SaslCounters {
  /** Logins that succeeded, re-authentications included. */
  logins: number;
  /** KIP-368 re-authentications that succeeded. */
  reauthentications: number;
  failedLogins: number;
  /** Connections closed because their session expired without re-authentication. */
  expiredSessionsClosed: number;
}

/** What every session of a broker shares (see `sasl_authenticator.ts`). */
export interface SaslSessionShared {
  readonly enabledMechanisms: readonly string[];
  readonly counters: SaslCounters;
  /** `connections.max.reauth.ms` (0: none). */
  readonly connectionsMaxReauthMs: number;
  readonly throttle: LoginThrottle;
  /** A server for an enabled mechanism (`reauthentication` only changes failure texts). */
  createServer(mechanism: string, reauthentication: boolean): SaslServer | undefined;
  nowMs(): number;
}

type State =
  /** Waiting for ApiVersions or SaslHandshake. */
  | "HANDSHAKE_OR_VERSIONS"
  /** Waiting for SaslAuthenticate (after handshake v1, or during re-authentication). */
  | "AUTHENTICATE"
  /** Waiting for bare tokens (after handshake v0). */
  | "RAW_TOKENS"
  | "AUTHENTICATED"
  /** Refused: the connection closes once the answer is sent. */
  | "FAILED";

const FREE_REQUESTS = new Set<number>([
  ApiKey.ApiVersions,
  ApiKey.SaslHandshake,
  ApiKey.SaslAuthenticate,
]);

/** Kafka's text for SaslAuthenticate on a connection already authenticated. */
export const AUTHENTICATE_AFTER_SUCCESS_MESSAGE =
  "SaslAuthenticate request received after successful authentication";

/** One connection's authentication. */
export class SaslSession {
  readonly #connection: SaslConnection;
  readonly #shared: SaslSessionShared;
  #state: State = "HANDSHAKE_OR_VERSIONS";
  #server: SaslServer | undefined;
  /** The mechanism of the last successful login (re-authentication must keep it). */
  #mechanism: string | undefined;
  #reauthenticating = false;
  /** Whether the client authenticated with SaslAuthenticate v1+ (KIP-368 re-authentication). */
  #reauthenticationAllowed = false;
  /** When the session ends (`undefined`: never). */
  #expiresAtMs: number | undefined;
  /** Set when the connection must close after the response in progress. */
  #closeReason: string | undefined;

  constructor(connection: SaslConnection, shared: SaslSessionShared) {
    this.#connection = connection;
    this.#shared = shared;
  }

  /** True once a login succeeded (also while re-authenticating). */
  get authenticated(): boolean {
    return this.#mechanism !== undefined;
  }

  /** True when the next frame is a bare SASL token (after handshake v0), not a request. */
  get expectsRawToken(): boolean {
    return this.#state === "RAW_TOKENS";
  }

  /** When the session ends, or `undefined` when it does not. */
  get expiresAtMs(): number | undefined {
    return this.#expiresAtMs;
  }

  /**
   * Checks that a request may be served now; throws {@linkcode FrameError}
   * (the connection is closed) when it may not.
   */
  admit(apiKey: number): void {
    // A refused login or re-authentication: nothing more is served, pipelined requests included.
    if (this.#state === "FAILED") throw new FrameError(this.#closeReason!);
    if (this.#mechanism !== undefined && this.#state !== "AUTHENTICATE") {
      const expired = this.#expiresAtMs !== undefined && this.#shared.nowMs() >= this.#expiresAtMs;
      if (expired && apiKey !== ApiKey.SaslHandshake) {
        this.#shared.counters.expiredSessionsClosed++;
        throw new FrameError(
          `the SASL session of ${this.#connection.principal} expired and the client did not re-authenticate (connections.max.reauth.ms or the credential's lifetime)`,
        );
      }
      return;
    }
    if (!FREE_REQUESTS.has(apiKey)) {
      const phase = this.#state === "AUTHENTICATE" ? "authentication" : "handshake";
      throw new FrameError(
        `Unexpected Kafka request of type ${kafkaApiName(apiKey)} during SASL ${phase}.`,
      );
    }
  }

  /** Answers SaslHandshake (`version` 0 switches to bare tokens). */
  handshake(mechanism: string, version: number): SaslHandshakeResponse {
    const mechanisms = [...this.#shared.enabledMechanisms];
    const reauthenticating = this.#state === "AUTHENTICATED";
    if (reauthenticating && !this.#reauthenticationAllowed) {
      // Kafka's request handler: a handshake on an authenticated connection that cannot re-authenticate.
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms };
    }
    if (this.#state !== "HANDSHAKE_OR_VERSIONS" && !reauthenticating) {
      return this.#refuseHandshake(
        ErrorCode.ILLEGAL_SASL_STATE,
        mechanisms,
        `Unexpected Kafka request of type SASL_HANDSHAKE during SASL authentication.`,
      );
    }
    if (reauthenticating && (mechanism !== this.#mechanism || version === 0)) {
      return this.#refuseHandshake(
        ErrorCode.UNSUPPORTED_SASL_MECHANISM,
        mechanisms,
        `SASL mechanism '${mechanism}' requested by client is not supported for re-authentication of mechanism '${this.#mechanism}'`,
      );
    }
    const server = this.#shared.createServer(mechanism, reauthenticating);
    if (server === undefined) {
      return this.#refuseHandshake(
        ErrorCode.UNSUPPORTED_SASL_MECHANISM,
        mechanisms,
        `Unsupported SASL mechanism ${mechanism}`,
      );
    }
    this.#server = server;
    this.#reauthenticating = reauthenticating;
    this.#state = version === 0 ? "RAW_TOKENS" : "AUTHENTICATE";
    return { errorCode: ErrorCode.NONE, mechanisms };
  }

  #refuseHandshake(errorCode: number, mechanisms: string[], reason: string) {
    this.#fail(reason);
    return { errorCode, mechanisms };
  }

  /** Answers SaslAuthenticate: the mechanism's next challenge, success or failure. */
  async authenticate(authBytes: Uint8Array, version: number): Promise<SaslAuthenticateResponse> {
    const response: SaslAuthenticateResponse = {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      authBytes: new Uint8Array(0),
      sessionLifetimeMs: 0,
    };
    if (this.#state !== "AUTHENTICATE") {
      response.errorCode = ErrorCode.ILLEGAL_SASL_STATE;
      if (this.#state === "AUTHENTICATED") {
        response.errorMessage = AUTHENTICATE_AFTER_SUCCESS_MESSAGE;
      } else {
        response.errorMessage =
          "Unexpected Kafka request of type SASL_AUTHENTICATE during SASL handshake.";
        this.#fail(response.errorMessage);
      }
      return response;
    }
    const step = await this.#evaluate(authBytes);
    if (step.kind === "failed") {
      await this.#connection.mute(this.#failedLogin(step));
      response.errorCode = ErrorCode.SASL_AUTHENTICATION_FAILED;
      response.errorMessage = step.errorMessage;
      return response;
    }
    response.authBytes = step.bytes;
    if (step.kind === "complete") {
      const lifetimeMs = this.#succeeded(step);
      if (version >= 1) {
        this.#reauthenticationAllowed = true;
        response.sessionLifetimeMs = lifetimeMs;
      } else {
        this.#reauthenticationAllowed = false;
      }
    }
    return response;
  }

  /**
   * Handles a bare token (after handshake v0): answers with the mechanism's
   * bytes, size-prefixed; a failure closes the connection without an answer.
   */
  async rawToken(token: Uint8Array): Promise<void> {
    const step = await this.#evaluate(token);
    if (step.kind === "failed") {
      await this.#connection.mute(this.#failedLogin(step));
      this.#connection.close(`SASL authentication failed: ${step.reason}`);
      return;
    }
    if (step.kind === "complete") {
      this.#succeeded(step);
      this.#reauthenticationAllowed = false;
    }
    const frame = new Uint8Array(4 + step.bytes.length);
    new DataView(frame.buffer).setInt32(0, step.bytes.length);
    frame.set(step.bytes, 4);
    await this.#connection.send([frame]);
  }

  /** Closes the connection if the response just sent refused it (the router calls it). */
  afterResponse(): void {
    if (this.#closeReason !== undefined) this.#connection.close(this.#closeReason);
  }

  async #evaluate(token: Uint8Array): Promise<SaslStep> {
    const step = await this.#server!.evaluate(token);
    if (step.kind !== "complete" || !this.#reauthenticating) return step;
    const principal = `User:${step.authorizationId}`;
    if (principal === this.#connection.principal) return step;
    return {
      kind: "failed",
      errorMessage:
        `Cannot change principals during re-authentication from ${this.#connection.principal}: ${principal}`,
      reason: `re-authentication as ${principal}`,
    };
  }

  /** Records a failed login; the delay before answering it. */
  #failedLogin(step: SaslStep & { kind: "failed" }): number {
    const mechanism = this.#server!.mechanism;
    this.#shared.counters.failedLogins++;
    this.#fail(`SASL authentication failed: ${step.reason}`);
    const address = hostOf(this.#connection.socket.remoteAddress);
    return this.#shared.throttle.failed(address, { mechanism, reason: step.reason });
  }

  /** A completed login: principal, mechanism and expiry set; the session's lifetime. */
  #succeeded(step: SaslStep & { kind: "complete" }): number {
    const nowMs = this.#shared.nowMs();
    this.#shared.counters.logins++;
    if (this.#reauthenticating) this.#shared.counters.reauthentications++;
    this.#connection.principal = `User:${step.authorizationId}`;
    this.#mechanism = this.#server!.mechanism;
    this.#server = undefined;
    this.#state = "AUTHENTICATED";
    this.#reauthenticating = false;
    this.#shared.throttle.succeeded(hostOf(this.#connection.socket.remoteAddress));
    const lifetimeMs = sessionLifetimeMs(this.#shared.connectionsMaxReauthMs, {
      credentialExpiresAtMs: step.credentialExpiresAtMs,
      nowMs,
    });
    this.#expiresAtMs = lifetimeMs === undefined ? undefined : nowMs + lifetimeMs;
    return lifetimeMs ?? 0;
  }

  #fail(reason: string): void {
    this.#state = "FAILED";
    this.#server = undefined;
    this.#closeReason = reason;
  }
}

/**
 * KIP-368's session lifetime: the shorter of `connections.max.reauth.ms`
 * (when positive) and what is left of the credential; `undefined` when
 * neither bounds it (the session never expires, answered as 0).
 */
export function sessionLifetimeMs(
  connectionsMaxReauthMs: number,
  credential: { credentialExpiresAtMs: number | undefined; nowMs: number },
): number | undefined {
  const bounds: number[] = [];
  if (connectionsMaxReauthMs > 0) bounds.push(connectionsMaxReauthMs);
  if (credential.credentialExpiresAtMs !== undefined) {
    bounds.push(Math.max(0, credential.credentialExpiresAtMs - credential.nowMs));
  }
  return bounds.length === 0 ? undefined : Math.min(...bounds);
}

/** Kafka's `ApiKeys` name of an API (`Metadata` -> `METADATA`). */
function kafkaApiName(apiKey: number): string {
  const name = apiTable[apiKey]?.name ?? String(apiKey);
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
}
