/**
 * Traffic as numbers, reported where it is known: records in by the logs'
 * append hook (the append result carries the bytes and records), records out
 * by the Fetch handler from its read results (which carry the offsets and
 * sizes), so no observer reads a batch header or walks a response again.
 *
 * @module
 */

/** Where per-topic traffic is counted (the metrics). */
export interface TrafficSink {
  countIn(topic: string, bytes: number, records: number): void;
  countOut(topic: string, bytes: number, records: number): void;
}

/**
 * One request's outgoing traffic: forwarded per topic to the broker's sink,
 * and summed for the client quotas (Fetch is throttled by the record bytes it
 * returns). Incoming traffic is counted by the logs' append hook, whichever
 * front door the records came through.
 */
export class RequestTraffic {
  readonly #sink: TrafficSink;
  /** Record bytes this request's response sends. */
  bytesOut = 0;
  /** A follower's fetch: not a client's, so no client quota applies (Kafka's replicas are exempt). */
  fromReplica = false;

  constructor(sink: TrafficSink) {
    this.#sink = sink;
  }

  /** `bytes` of `records` of `topic` sent in the response. */
  countOut(topic: string, bytes: number, records: number): void {
    this.bytesOut += bytes;
    this.#sink.countOut(topic, bytes, records);
  }
}
