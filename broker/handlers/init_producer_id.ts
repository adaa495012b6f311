/**
 * InitProducerId (key 22): hands idempotent producers a producer id that is
 * unique across restarts (ids come from blocks reserved in a file before
 * use, as Kafka's controller reserves blocks) and bumps the epoch of a
 * known id (KIP-360). Sequence checking comes with durable produce.
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

/** Largest producer epoch before a new id is needed. */
const PRODUCER_EPOCH_MAX = 32767;

export const initProducerIdHandler: ApiHandler = defineHandler(initProducerIdApi, {
  minVersion: 0,
  maxVersion: 5,
  async handle(
    ctx: RequestContext,
    request: InitProducerIdRequest,
  ): Promise<InitProducerIdResponse> {
    if (request.transactionalId !== null) {
      return {
        throttleTimeMs: 0,
        errorCode: TRANSACTIONS_UNSUPPORTED_ERROR,
        producerId: -1,
        producerEpoch: -1,
      };
    }
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
