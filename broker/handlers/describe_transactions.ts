/**
 * DescribeTransactions (key 65, v0): each transactional id's state, producer
 * id and epoch, timeout, start time and partitions (TRANSACTIONAL_ID_NOT_FOUND
 * for an unknown id, or one the principal may not DESCRIBE, as Kafka checks).
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type {
  DescribeTransactionsRequest,
  DescribeTransactionsResponse,
} from "../../protocol/messages/describe_transactions.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { describeTransactionsApi } from "../../protocol/messages/mod.ts";
import { AclOperation, ResourceType } from "../security/acl.ts";
import { authorize } from "../security/authorize.ts";

import { txnCoordinatorOf } from "./_txn_route.ts";

export const describeTransactionsHandler: ApiHandler = defineHandler(describeTransactionsApi, {
  minVersion: 0,
  maxVersion: 0,
  handle(ctx: RequestContext, request: DescribeTransactionsRequest): DescribeTransactionsResponse {
    return {
      throttleTimeMs: 0,
      transactionStates: request.transactionalIds.map((id) => {
        const allowed = authorize(ctx, AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, id);
        const coordinator = allowed ? txnCoordinatorOf(ctx, id) : undefined;
        const t = typeof coordinator === "object" ? coordinator.describe(id) : undefined;
        if (t === undefined) {
          return {
            errorCode: !allowed
              ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
              : typeof coordinator === "number"
              ? coordinator
              : ErrorCode.TRANSACTIONAL_ID_NOT_FOUND,
            transactionalId: id,
            transactionState: "",
            transactionTimeoutMs: 0,
            transactionStartTimeMs: -1,
            producerId: -1,
            producerEpoch: -1,
            topics: [],
          };
        }
        return {
          errorCode: ErrorCode.NONE,
          transactionalId: id,
          transactionState: t.state,
          transactionTimeoutMs: t.transactionTimeoutMs,
          transactionStartTimeMs: t.startTimestampMs,
          producerId: t.producerId,
          producerEpoch: t.producerEpoch,
          topics: t.partitions.map((tp) => ({ topic: tp.topic, partitions: [...tp.partitions] })),
        };
      }),
    };
  },
});
