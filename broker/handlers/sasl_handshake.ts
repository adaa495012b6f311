/**
 * SaslHandshake (key 17, v0-1): the client names a SASL mechanism. On a
 * SASL listener the connection's {@linkcode SaslSession} answers (v0: the
 * tokens then follow as bare frames; v1: in SaslAuthenticate requests). On
 * any other listener there is nothing to authenticate: ILLEGAL_SASL_STATE,
 * as Kafka's request handler answers a handshake it did not expect.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type {
  SaslHandshakeRequest,
  SaslHandshakeResponse,
} from "../../protocol/messages/sasl_handshake.ts";
import { saslHandshakeApi } from "../../protocol/messages/mod.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";

export const saslHandshakeHandler: ApiHandler = defineHandler(saslHandshakeApi, {
  minVersion: 0,
  maxVersion: 1,
  handle(ctx: RequestContext, request: SaslHandshakeRequest): SaslHandshakeResponse {
    const session = ctx.broker.sasl.sessionFor(ctx.connection);
    if (session === undefined) return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] };
    return session.handshake(request.mechanism, ctx.request.apiVersion);
  },
});
