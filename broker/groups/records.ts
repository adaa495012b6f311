/**
 * The records of the group log, in Kafka's own `__consumer_offsets` formats
 * (`OffsetCommitKey` v1, `OffsetCommitValue` v1/v3, `GroupMetadataKey` v2,
 * `GroupMetadataValue` v3; classic, non-flexible encodings): a committed
 * offset is keyed by (group, topic, partition), a group's membership by its
 * id; a null value is a tombstone. Kafka's tools can decode these records.
 *
 * @module
 */
import { Reader, Writer } from "../../protocol/primitives.ts";

/** Key versions: 0 and 1 are offset commits, 2 is group metadata. */
const OFFSET_KEY_VERSION = 1;
const GROUP_KEY_VERSION = 2;
/** Offset value versions: 1 carries an expire timestamp, 3 a leader epoch. */
const OFFSET_VALUE_V1 = 1;
const OFFSET_VALUE_V3 = 3;
const GROUP_VALUE_VERSION = 3;

/** A committed offset as stored. */
export interface CommittedOffset {
  readonly offset: number;
  /** -1 when the client sent none. */
  readonly leaderEpoch: number;
  readonly metadata: string;
  readonly commitTimestampMs: number;
  /** Explicit expiry (OffsetCommit v2-v4 retention time), -1 for none. */
  readonly expireTimestampMs: number;
}

/** One member in a stored group. */
export interface StoredMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly rebalanceTimeoutMs: number;
  readonly sessionTimeoutMs: number;
  /** The member's metadata for the selected protocol. */
  readonly subscription: Uint8Array;
  readonly assignment: Uint8Array;
}

/** A group's membership as stored after each completed rebalance. */
export interface StoredGroup {
  readonly protocolType: string;
  readonly generationId: number;
  readonly protocolName: string | null;
  readonly leaderId: string | null;
  readonly currentStateTimestampMs: number;
  readonly members: readonly StoredMember[];
}

/** A decoded key. */
export type GroupLogKey =
  | { readonly kind: "offset"; readonly groupId: string; topic: string; partition: number }
  | { readonly kind: "group"; readonly groupId: string };

/** Key of a committed offset. */
export function encodeOffsetKey(groupId: string, topic: string, partition: number): Uint8Array {
  const w = new Writer({ bufferSizeBytes: 64 + groupId.length * 3 + topic.length * 3 });
  w.int16(OFFSET_KEY_VERSION);
  w.string(groupId);
  w.string(topic);
  w.int32(partition);
  return w.toBytes();
}

/** Key of a group's membership. */
export function encodeGroupKey(groupId: string): Uint8Array {
  const w = new Writer({ bufferSizeBytes: 16 + groupId.length * 3 });
  w.int16(GROUP_KEY_VERSION);
  w.string(groupId);
  return w.toBytes();
}

/** Value of a committed offset (v1 when it carries an expiry, as Kafka writes it, else v3). */
export function encodeOffsetValue(c: CommittedOffset): Uint8Array {
  const w = new Writer({ bufferSizeBytes: 64 + c.metadata.length * 3 });
  if (c.expireTimestampMs >= 0) {
    w.int16(OFFSET_VALUE_V1);
    w.int64(c.offset);
    w.string(c.metadata);
    w.int64(c.commitTimestampMs);
    w.int64(c.expireTimestampMs);
  } else {
    w.int16(OFFSET_VALUE_V3);
    w.int64(c.offset);
    w.int32(c.leaderEpoch);
    w.string(c.metadata);
    w.int64(c.commitTimestampMs);
  }
  return w.toBytes();
}

/** Value of a group's membership. */
export function encodeGroupValue(g: StoredGroup): Uint8Array {
  const w = new Writer();
  w.int16(GROUP_VALUE_VERSION);
  w.string(g.protocolType);
  w.int32(g.generationId);
  w.nullableString(g.protocolName);
  w.nullableString(g.leaderId);
  w.int64(g.currentStateTimestampMs);
  w.int32(g.members.length);
  for (const m of g.members) {
    w.string(m.memberId);
    w.nullableString(m.groupInstanceId);
    w.string(m.clientId);
    w.string(m.clientHost);
    w.int32(m.rebalanceTimeoutMs);
    w.int32(m.sessionTimeoutMs);
    w.bytes(m.subscription);
    w.bytes(m.assignment);
  }
  return w.toBytes();
}

/** Decodes a key; throws on bytes Kafka would not have written. */
export function decodeKey(bytes: Uint8Array): GroupLogKey {
  const r = new Reader(bytes);
  const version = r.int16();
  let key: GroupLogKey;
  if (version === 0 || version === 1) {
    key = { kind: "offset", groupId: r.string(), topic: r.string(), partition: r.int32() };
  } else if (version === GROUP_KEY_VERSION) {
    key = { kind: "group", groupId: r.string() };
  } else {
    throw new Error(`Unknown group log key version ${version}.`);
  }
  check(r, "key");
  return key;
}

/** Decodes an offset value (versions 0-3). */
export function decodeOffsetValue(bytes: Uint8Array): CommittedOffset {
  const r = new Reader(bytes);
  const version = r.int16();
  if (version < 0 || version > 3) throw new Error(`Unknown offset value version ${version}.`);
  const offset = r.int64();
  const leaderEpoch = version >= 3 ? r.int32() : -1;
  const metadata = r.string();
  const commitTimestampMs = r.int64();
  const expireTimestampMs = version === 1 ? r.int64() : -1;
  check(r, "offset value");
  return { offset, leaderEpoch, metadata, commitTimestampMs, expireTimestampMs };
}

/** Decodes a group value (version 3). */
export function decodeGroupValue(bytes: Uint8Array): StoredGroup {
  const r = new Reader(bytes);
  const version = r.int16();
  if (version !== GROUP_VALUE_VERSION) throw new Error(`Unknown group value version ${version}.`);
  const protocolType = r.string();
  const generationId = r.int32();
  const protocolName = r.nullableString();
  const leaderId = r.nullableString();
  const currentStateTimestampMs = r.int64();
  const count = r.int32();
  const members: StoredMember[] = [];
  for (let i = 0; i < count && r.ok; i++) {
    members.push({
      memberId: r.string(),
      groupInstanceId: r.nullableString(),
      clientId: r.string(),
      clientHost: r.string(),
      rebalanceTimeoutMs: r.int32(),
      sessionTimeoutMs: r.int32(),
      subscription: r.bytes().slice(),
      assignment: r.bytes().slice(),
    });
  }
  check(r, "group value");
  return { protocolType, generationId, protocolName, leaderId, currentStateTimestampMs, members };
}

function check(r: Reader, what: string): void {
  if (!r.ok) throw new Error(`Corrupt group log ${what}: ${r.error}.`);
  if (r.remaining !== 0) {
    throw new Error(`Corrupt group log ${what}: ${r.remaining} bytes left over.`);
  }
}
