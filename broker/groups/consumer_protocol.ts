/**
 * The topics a member of a `consumer` group subscribes to, read from its
 * `ConsumerProtocolSubscription` metadata (version int16, then an array of
 * topic names; later fields are ignored). Kafka reads the same to decide
 * which offsets OffsetDelete may remove and which expire while the group is
 * Stable. The coordinator never rejects metadata it cannot parse: it relays
 * member metadata untouched, as Kafka does.
 *
 * @module
 */
import { Reader } from "../../protocol/primitives.ts";

/** Kafka's protocol type of consumer groups. */
export const CONSUMER_PROTOCOL_TYPE = "consumer";
/** Topic count above which a subscription is taken as garbage. */
const SUBSCRIBED_TOPICS_MAX = 100_000;

/** The subscribed topics in `metadata`, or undefined when it is not a consumer subscription. */
export function subscribedTopics(metadata: Uint8Array): string[] | undefined {
  const r = new Reader(metadata);
  const version = r.int16();
  const count = r.int32();
  if (!r.ok || version < 0 || count < 0 || count > SUBSCRIBED_TOPICS_MAX) return undefined;
  const topics: string[] = [];
  for (let i = 0; i < count && r.ok; i++) topics.push(r.string());
  return r.ok ? topics : undefined;
}

/** The partitions in a `ConsumerProtocolAssignment` (empty when unreadable). */
export function assignedPartitions(assignment: Uint8Array): { topic: string; partition: number }[] {
  const r = new Reader(assignment);
  const version = r.int16();
  const topicCount = r.int32();
  if (!r.ok || version < 0 || topicCount < 0 || topicCount > SUBSCRIBED_TOPICS_MAX) return [];
  const out: { topic: string; partition: number }[] = [];
  for (let i = 0; i < topicCount && r.ok; i++) {
    const topic = r.string();
    const partitionCount = r.int32();
    if (partitionCount < 0 || partitionCount > r.remaining / 4) return [];
    for (let j = 0; j < partitionCount && r.ok; j++) out.push({ topic, partition: r.int32() });
  }
  return r.ok ? out : [];
}
