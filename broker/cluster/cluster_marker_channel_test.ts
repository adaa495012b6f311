import { assertEquals } from "../../util/assert.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import type {
  WriteTxnMarkersRequest,
  WriteTxnMarkersResponse,
} from "../../protocol/messages/write_txn_markers.ts";
import type { MarkerResult, TxnMarkerChannel } from "../transactions/marker_channel.ts";
import type { TxnMarker } from "../transactions/partition_markers.ts";
import type { TxnTopicPartitions } from "../transactions/txn_records.ts";
import { ClusterTxnMarkerChannel } from "./cluster_marker_channel.ts";

const MARKER: TxnMarker = { producerId: 7, producerEpoch: 2, coordinatorEpoch: 5, committed: true };
/** Leaders: t-0 here (node 1), t-1 and t-2 on node 2, t-3 on node 3, t-4 none. */
const LEADERS = [1, 2, 2, 3, -1];

/** A channel on node 1 whose peers answer with `answer` (or reject with it). */
function channelWith(answer: (nodeId: number, request: WriteTxnMarkersRequest) => unknown) {
  const local: { sent: TxnTopicPartitions[][] } = { sent: [] };
  const requests: { nodeId: number; request: WriteTxnMarkersRequest }[] = [];
  const localChannel: TxnMarkerChannel = {
    send(_marker, partitions) {
      local.sent.push([...partitions]);
      return Promise.resolve(
        partitions.flatMap((tp) =>
          tp.partitions.map((partition) => ({ topic: tp.topic, partition, errorCode: 0 }))
        ),
      );
    },
  };
  const channel = new ClusterTxnMarkerChannel({
    nodeId: 1,
    local: localChannel,
    leaderOf: (_topic, partition) => LEADERS[partition],
    clients: {
      request<Req, Res>(nodeId: number, _api: unknown, _version: number, body: Req) {
        const request = body as unknown as WriteTxnMarkersRequest;
        requests.push({ nodeId, request });
        const answered = answer(nodeId, request);
        return answered instanceof Error
          ? Promise.reject(answered)
          : Promise.resolve(answered as Res);
      },
    },
  });
  return { channel, local, requests };
}

/** Every partition of the request written, NONE. */
function allWritten(request: WriteTxnMarkersRequest): WriteTxnMarkersResponse {
  return {
    markers: request.markers.map((m) => ({
      producerId: m.producerId,
      topics: m.topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, errorCode: 0 })),
      })),
    })),
  };
}

const byPartition = (results: MarkerResult[]) =>
  results.map((r) => [r.partition, r.errorCode]).sort((a, b) => a[0] - b[0]);

Deno.test("ClusterTxnMarkerChannel.send() writes local partitions here and batches one request per leader", async () => {
  const { channel, local, requests } = channelWith((_, request) => allWritten(request));
  const results = await channel.send(MARKER, [{ topic: "t", partitions: [0, 1, 2, 3, 4] }]);
  assertEquals(local.sent, [[{ topic: "t", partitions: [0] }]]);
  assertEquals(requests.map((r) => r.nodeId).sort(), [2, 3]);
  const toNode2 = requests.find((r) => r.nodeId === 2)!.request;
  assertEquals(toNode2.markers, [{
    producerId: 7,
    producerEpoch: 2,
    transactionResult: true,
    coordinatorEpoch: 5,
    topics: [{ name: "t", partitionIndexes: [1, 2] }],
  }]);
  // No leader: NOT_LEADER_OR_FOLLOWER, for the completion to retry after the metadata moves.
  assertEquals(byPartition(results), [
    [0, 0],
    [1, 0],
    [2, 0],
    [3, 0],
    [4, ErrorCode.NOT_LEADER_OR_FOLLOWER],
  ]);
});

Deno.test("ClusterTxnMarkerChannel.send() answers NOT_LEADER_OR_FOLLOWER for an unreachable broker and keeps its errors", async () => {
  const { channel } = channelWith((nodeId, request) => {
    if (nodeId === 3) return new Error("Connection refused");
    const written = allWritten(request);
    written.markers[0].topics[0].partitions[0].errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
    written.markers[0].topics[0].partitions.pop(); // partition 2 left out of the answer
    return written;
  });
  const results = await channel.send(MARKER, [{ topic: "t", partitions: [1, 2, 3] }]);
  assertEquals(byPartition(results), [
    [1, ErrorCode.NOT_LEADER_OR_FOLLOWER],
    [2, ErrorCode.UNKNOWN_SERVER_ERROR],
    [3, ErrorCode.NOT_LEADER_OR_FOLLOWER],
  ]);
});
