/**
 * WriteTxnMarkers (key 27, v0-1): a transaction coordinator asks this
 * broker, as the partitions' leader, to write COMMIT or ABORT markers (the
 * cluster's form of the local marker channel). Data partitions get a control
 * batch (`transactions/partition_markers.ts`); `__consumer_offsets`
 * partitions end the producer's pending transactional offsets.
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

export const writeTxnMarkersHandler: ApiHandler = defineHandler(writeTxnMarkersApi, {
  minVersion: 0,
  maxVersion: 1,
  async handle(
    ctx: RequestContext,
    request: WriteTxnMarkersRequest,
  ): Promise<WriteTxnMarkersResponse> {
    // Authorization (ACLs): CLUSTER_ACTION on the cluster belongs here.
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
