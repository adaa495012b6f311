/**
 * WriteTxnMarkers (key 27, v0-1): a transaction coordinator asks this
 * broker, as the partitions' leader, to write COMMIT or ABORT markers (the
 * cluster's form of the local marker channel). Data partitions get a control
 * batch (`transactions/partition_markers.ts`); `__consumer_offsets`
 * partitions end the producer's pending transactional offsets. Needs
 * CLUSTER_ACTION on the cluster (Kafka's check; CLUSTER_AUTHORIZATION_FAILED on
 * every partition otherwise).
 *
 * @module
 */
import type {
  WriteTxnMarkersRequest,
  WriteTxnMarkersResponse,
} from "../../protocol/messages/write_txn_markers.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { writeTxnMarkersApi } from "../../protocol/messages/mod.ts";
import { localMarkerChannel } from "../transactions/broker_coordinator.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { AclOperation } from "../security/acl.ts";
import { authorizeCluster } from "../security/authorize.ts";

export const writeTxnMarkersHandler: ApiHandler = defineHandler(writeTxnMarkersApi, {
  minVersion: 0,
  maxVersion: 1,
  async handle(
    ctx: RequestContext,
    request: WriteTxnMarkersRequest,
  ): Promise<WriteTxnMarkersResponse> {
    if (!authorizeCluster(ctx, AclOperation.CLUSTER_ACTION)) {
      return {
        markers: request.markers.map((m) => ({
          producerId: m.producerId,
          topics: m.topics.map((t) => ({
            name: t.name,
            partitions: t.partitionIndexes.map((partitionIndex) => ({
              partitionIndex,
              errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
            })),
          })),
        })),
      };
    }
    const channel = localMarkerChannel(ctx.broker);
    const markers = await Promise.all(request.markers.map(async (m) => {
      const results = await channel.send({
        producerId: m.producerId,
        producerEpoch: m.producerEpoch,
        coordinatorEpoch: m.coordinatorEpoch,
        committed: m.transactionResult,
      }, m.topics.map((t) => ({ topic: t.name, partitions: t.partitionIndexes })));
      return {
        producerId: m.producerId,
        topics: m.topics.map((t) => ({
          name: t.name,
          partitions: results.filter((r) => r.topic === t.name).map((r) => ({
            partitionIndex: r.partition,
            errorCode: r.errorCode,
          })),
        })),
      };
    }));
    return { markers };
  },
});
