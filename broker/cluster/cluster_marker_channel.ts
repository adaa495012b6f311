/**
 * Transaction markers in a cluster (Kafka's TransactionMarkerChannelManager):
 * each partition of a transaction gets its marker from its leader, so the
 * partitions are grouped by their leader in the metadata cache; those led
 * here go through the local channel (`transactions/marker_channel.ts`), the
 * others as one WriteTxnMarkers (key 27) request per broker over the
 * inter-broker listener ({@linkcode BrokerClientPool}). A partition with no
 * live leader, or whose broker cannot be reached, answers
 * NOT_LEADER_OR_FOLLOWER; the coordinator's completion retries the failed
 * partitions after its backoff, looking their leaders up again in the
 * metadata (which etcd keeps current), as Kafka's channel does after a
 * metadata refresh.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import { writeTxnMarkersApi } from "../../protocol/messages/mod.ts";
import type { MarkerResult, TxnMarkerChannel } from "../transactions/marker_channel.ts";
import type { TxnMarker } from "../transactions/partition_markers.ts";
import type { TxnTopicPartitions } from "../transactions/txn_records.ts";
import type { BrokerClientPool } from "./broker_client_pool.ts";

/** The WriteTxnMarkers version sent (v1: flexible; every Denka broker answers it). */
export const WRITE_TXN_MARKERS_VERSION = 1;

/** What the cluster channel needs. */
export interface ClusterMarkerDeps {
  readonly nodeId: number;
  /** The partitions this broker leads. */
  readonly local: TxnMarkerChannel;
  /** The leader of `topic`-`partition` in the metadata, or -1. */
  readonly leaderOf: (topic: string, partition: number) => number;
  readonly clients: Pick<BrokerClientPool, "request">;
}

/** See the module doc. */
export class ClusterTxnMarkerChannel implements TxnMarkerChannel {
  readonly #deps: ClusterMarkerDeps;

  constructor(deps: ClusterMarkerDeps) {
    this.#deps = deps;
  }

  async send(
    marker: TxnMarker,
    partitions: readonly TxnTopicPartitions[],
  ): Promise<MarkerResult[]> {
    const byLeader = new Map<number, Map<string, number[]>>();
    for (const tp of partitions) {
      for (const partition of tp.partitions) {
        const leader = this.#deps.leaderOf(tp.topic, partition);
        const topics = byLeader.get(leader) ?? new Map<string, number[]>();
        topics.set(tp.topic, [...(topics.get(tp.topic) ?? []), partition]);
        byLeader.set(leader, topics);
      }
    }
    const answers = [...byLeader].map(([leader, topics]) => {
      const list = [...topics].map(([topic, ps]) => ({ topic, partitions: ps }));
      if (leader === this.#deps.nodeId) return this.#deps.local.send(marker, list);
      if (leader < 0) return Promise.resolve(failAll(list, ErrorCode.NOT_LEADER_OR_FOLLOWER));
      return this.#sendTo(leader, marker, list);
    });
    return (await Promise.all(answers)).flat();
  }

  async #sendTo(
    nodeId: number,
    marker: TxnMarker,
    list: TxnTopicPartitions[],
  ): Promise<MarkerResult[]> {
    try {
      const response = await this.#deps.clients.request(
        nodeId,
        writeTxnMarkersApi,
        WRITE_TXN_MARKERS_VERSION,
        {
          markers: [{
            producerId: marker.producerId,
            producerEpoch: marker.producerEpoch,
            transactionResult: marker.committed,
            coordinatorEpoch: marker.coordinatorEpoch,
            topics: list.map((tp) => ({ name: tp.topic, partitionIndexes: [...tp.partitions] })),
          }],
        },
      );
      const results: MarkerResult[] = [];
      for (const m of response.markers) {
        for (const t of m.topics) {
          for (const p of t.partitions) {
            results.push({ topic: t.name, partition: p.partitionIndex, errorCode: p.errorCode });
          }
        }
      }
      // A partition the answer left out was not written.
      for (const tp of list) {
        for (const partition of tp.partitions) {
          if (!results.some((r) => r.topic === tp.topic && r.partition === partition)) {
            results.push({ topic: tp.topic, partition, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR });
          }
        }
      }
      return results;
    } catch {
      return failAll(list, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    }
  }
}

function failAll(list: readonly TxnTopicPartitions[], errorCode: number): MarkerResult[] {
  return list.flatMap((tp) =>
    tp.partitions.map((partition) => ({ topic: tp.topic, partition, errorCode }))
  );
}
