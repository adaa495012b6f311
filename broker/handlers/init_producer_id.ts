/**
 * InitProducerId (key 22): without a transactional id, hands idempotent
 * producers a producer id that is unique across restarts (ids come from
 * blocks reserved in a file before use, as Kafka's controller reserves
 * blocks) and bumps the epoch of a known id (KIP-360). With one, the
 * transaction coordinator answers (epoch bump, fencing; see
 * `transactions/coordinator.ts`).
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type {
  InitProducerIdRequest,
  InitProducerIdResponse,
} from "../../protocol/messages/init_producer_id.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { initProducerIdApi } from "../../protocol/messages/mod.ts";
import { authorizeIdempotentWrite, authorizeTransactionalId } from "../security/authorize.ts";
import { fencedForVersion } from "./_txn_errors.ts";
import { withTxnCoordinator } from "./_txn_route.ts";

/** Largest producer epoch before a new id is needed. */
const PRODUCER_EPOCH_MAX = 32767;
/** First version answered PRODUCER_FENCED (KIP-588). */
const FENCED_MIN_VERSION = 4;

export const initProducerIdHandler: ApiHandler = defineHandler(initProducerIdApi, {
  minVersion: 0,
  maxVersion: 5,
  async handle(
    ctx: RequestContext,
    request: InitProducerIdRequest,
  ): Promise<InitProducerIdResponse> {
    const refused = (errorCode: number) => ({
      throttleTimeMs: 0,
      errorCode,
      producerId: -1,
      producerEpoch: -1,
    });
    if (request.transactionalId !== null) {
      if (!authorizeTransactionalId(ctx, request.transactionalId)) {
        return refused(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
      }
      let answer = { errorCode: ErrorCode.NONE as number, producerId: -1, producerEpoch: -1 };
      const errorCode = await withTxnCoordinator(ctx, request.transactionalId, (c) => {
        answer = c.initProducerId({
          transactionalId: request.transactionalId!,
          transactionTimeoutMs: request.transactionTimeoutMs,
          producerId: request.producerId,
          producerEpoch: request.producerEpoch,
        });
        return answer.errorCode;
      });
      if (errorCode !== answer.errorCode) answer = { errorCode, producerId: -1, producerEpoch: -1 };
      return {
        throttleTimeMs: 0,
        ...answer,
        errorCode: fencedForVersion(answer.errorCode, {
          apiVersion: ctx.request.apiVersion,
          fencedMinVersion: FENCED_MIN_VERSION,
        }),
      };
    }
    if (!authorizeIdempotentWrite(ctx)) return refused(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    const ids = ctx.broker.producerIds;
    if (request.producerId >= 0 && request.producerEpoch >= 0) {
      if (request.producerEpoch < PRODUCER_EPOCH_MAX && ids.wasIssued(request.producerId)) {
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.NONE,
          producerId: request.producerId,
          producerEpoch: request.producerEpoch + 1,
        };
      }
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      producerId: ids.next(),
      producerEpoch: 0,
    };
  },
});
