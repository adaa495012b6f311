/**
 * ListTransactions (key 66, v0-1): the transactional ids this coordinator
 * owns, filtered by state names (unknown names are echoed back), producer
 * ids and (v1) how long the transaction has been open; only the ids the
 * principal may DESCRIBE are listed (Kafka's check).
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type {
  ListTransactionsRequest,
  ListTransactionsResponse,
} from "../../protocol/messages/list_transactions.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { listTransactionsApi } from "../../protocol/messages/mod.ts";
import { parseTxnState, type TxnState } from "../transactions/txn_state.ts";
import { AclOperation, ResourceType } from "../security/acl.ts";
import { authorizeQuietly } from "../security/authorize.ts";

import { listTxns } from "./_txn_route.ts";

export const listTransactionsHandler: ApiHandler = defineHandler(listTransactionsApi, {
  minVersion: 0,
  maxVersion: 1,
  handle(ctx: RequestContext, request: ListTransactionsRequest): ListTransactionsResponse {
    const states: TxnState[] = [];
    const unknownStateFilters: string[] = [];
    for (const name of request.stateFilters) {
      const state = parseTxnState(name);
      if (state === undefined) unknownStateFilters.push(name);
      else states.push(state);
    }
    const noneMatch = states.length === 0 && request.stateFilters.length > 0;
    const listed = noneMatch ? [] : listTxns(ctx, {
      states,
      producerIds: request.producerIdFilters,
      minDurationMs: request.durationFilter,
    });
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      unknownStateFilters,
      transactionStates: listed.filter((t) =>
        authorizeQuietly(
          ctx,
          AclOperation.DESCRIBE,
          ResourceType.TRANSACTIONAL_ID,
          t.transactionalId,
        )
      ).map((t) => ({
        transactionalId: t.transactionalId,
        producerId: t.producerId,
        transactionState: t.state,
      })),
    };
  },
});
