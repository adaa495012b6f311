/**
 * Traffic of the Kafka protocol as numbers, reported by the handlers that
 * move records (Produce: what was appended; Fetch: what the response sends)
 * from what they already know: the append result and the read result carry
 * the offsets and sizes, so no observer reads a batch header or walks a
 * response again.
 *
 * @module
 */

/** Where per-topic traffic is counted (the metrics). */
export interface TrafficSink {
  countIn(topic: string, bytes: number, records: number): void;
  countOut(topic: string, bytes: number, records: number): void;
}

/** A sink that counts nothing. */
export const NO_TRAFFIC_SINK: TrafficSink = { countIn() {}, countOut() {} };

/**
 * One request's traffic: forwarded per topic to the broker's sink, and summed
 * for the client quotas (Fetch is throttled by the record bytes it returns).
 */
export class RequestTraffic {
  readonly #sink: TrafficSink;
  /** Record bytes appended by this request. */
  bytesIn = 0;
  /** Record bytes this request's response sends. */
  bytesOut = 0;

  constructor(sink: TrafficSink) {
    this.#sink = sink;
  }

  /** `bytes` of `records` appended to `topic`. */
  countIn(topic: string, bytes: number, records: number): void {
    this.bytesIn += bytes;
    this.#sink.countIn(topic, bytes, records);
  }

  /** `bytes` of `records` of `topic` sent in the response. */
  countOut(topic: string, bytes: number, records: number): void {
    this.bytesOut += bytes;
    this.#sink.countOut(topic, bytes, records);
  }
}
