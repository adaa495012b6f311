/**
 * SaslAuthenticate (key 36, v0-2): one SASL token of the mechanism chosen
 * in SaslHandshake v1, answered by the connection's {@linkcode SaslSession}
 * (v1+ carries the session lifetime of KIP-368). On a listener without
 * SASL: ILLEGAL_SASL_STATE with Kafka's text.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type {
  SaslAuthenticateRequest,
  SaslAuthenticateResponse,
} from "../../protocol/messages/sasl_authenticate.ts";
import { saslAuthenticateApi } from "../../protocol/messages/mod.ts";
import { AUTHENTICATE_AFTER_SUCCESS_MESSAGE } from "../security/sasl_session.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";

export const saslAuthenticateHandler: ApiHandler = defineHandler(saslAuthenticateApi, {
  minVersion: 0,
  maxVersion: 2,
  handle(
    ctx: RequestContext,
    request: SaslAuthenticateRequest,
  ): Promise<SaslAuthenticateResponse> | SaslAuthenticateResponse {
    const session = ctx.broker.sasl.sessionFor(ctx.connection);
    if (session === undefined) {
      return {
        errorCode: ErrorCode.ILLEGAL_SASL_STATE,
        errorMessage: AUTHENTICATE_AFTER_SUCCESS_MESSAGE,
        authBytes: new Uint8Array(0),
        sessionLifetimeMs: 0,
      };
    }
    return session.authenticate(request.authBytes, ctx.request.apiVersion);
  },
});
