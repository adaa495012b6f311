/**
 * InitProducerId (key 22): hands idempotent producers a producer id that is
 * unique across restarts (ids come from blocks reserved in a file before
 * use, as Kafka's controller reserves blocks) and bumps the epoch of a
 * known id (KIP-360). Sequence checking comes with durable produce. Needs
 * WRITE on the transactional id, or for an idempotent producer
 * IDEMPOTENT_WRITE on the CLUSTER or WRITE on some topic (KIP-679).
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
import { TRANSACTIONS_UNSUPPORTED_ERROR } from "./_transactions.ts";
import { authorizeIdempotentWrite, authorizeTransactionalId } from "../security/authorize.ts";

/** Largest producer epoch before a new id is needed. */
const PRODUCER_EPOCH_MAX = 32767;

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
      return {
        throttleTimeMs: 0,
        errorCode: TRANSACTIONS_UNSUPPORTED_ERROR,
        producerId: -1,
        producerEpoch: -1,
      };
    }
    if (!authorizeIdempotentWrite(ctx)) return refused(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    // In a cluster, ids come in blocks claimed from etcd, unique across brokers.
    const ids = ctx.broker.cluster?.producerIds ?? ctx.broker.producerIds;
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
      producerId: await ids.next(),
      producerEpoch: 0,
    };
  },
});
