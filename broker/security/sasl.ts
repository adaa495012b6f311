/**
 * What every SASL mechanism's server side returns for one client token:
 * bytes to send back (a challenge, or the final message on success) or a
 * failure carrying the message Kafka puts in its SaslAuthenticate response.
 *
 * Kafka answers a failed login with SASL_AUTHENTICATION_FAILED and one of
 * two kinds of message: mechanism errors that could tell an attacker whether
 * a user exists get a generic text (`SaslServerAuthenticator` hides the
 * `SaslException`'s own message); errors that are the client's plain mistake
 * (`SaslAuthenticationException`: no user name given, PLAIN's wrong
 * password, an authorization id that is not the user) pass their text on.
 * `reason` keeps the detail for the broker's (rate-limited) log.
 *
 * @module
 */

/** One step of a server-side SASL exchange. */
export type SaslStep =
  | { readonly kind: "challenge"; readonly bytes: Uint8Array }
  | {
    readonly kind: "complete";
    /** The last server message (SCRAM's `v=...`; empty for PLAIN and OAUTHBEARER). */
    readonly bytes: Uint8Array;
    /** The authenticated user: the principal is `User:<authorizationId>`. */
    readonly authorizationId: string;
    /** When the credential stops being valid (a token's `exp`), for KIP-368 re-authentication. */
    readonly credentialExpiresAtMs?: number;
  }
  | { readonly kind: "failed"; readonly errorMessage: string; readonly reason: string };

/** The server side of one SASL mechanism on one connection. */
export interface SaslServer {
  readonly mechanism: string;
  /** Evaluates the client's next token. After `complete` or `failed` every call fails. */
  evaluate(token: Uint8Array): Promise<SaslStep>;
}

/**
 * A failure whose detail stays in the log: the client sees Kafka's generic
 * text (`re-authentication` instead of `authentication` during KIP-368).
 */
export function invalidCredentials(
  mechanism: string,
  reason: string,
  options: { reauthentication?: boolean } = {},
): SaslStep {
  const phase = options.reauthentication === true ? "re-authentication" : "authentication";
  return {
    kind: "failed",
    errorMessage:
      `Authentication failed during ${phase} due to invalid credentials with SASL mechanism ${mechanism}`,
    reason,
  };
}

/** A failure whose message the client sees as is (Kafka's `SaslAuthenticationException`). */
export function authenticationFailed(message: string): SaslStep {
  return { kind: "failed", errorMessage: message, reason: message };
}

/** The step for a token that arrives after the exchange ended. */
export function exchangeOver(mechanism: string, state: string): SaslStep {
  return invalidCredentials(mechanism, `Unexpected token in SASL server state ${state}`);
}
