/**
 * The coordinator's groups as the HTTP API and /metrics see them
 * ({@linkcode GroupSource}): members with the partitions their consumer
 * assignment names, and committed offsets.
 *
 * @module
 */
import type { GroupSource, GroupView } from "./group_source.ts";
import { assignedPartitions, CONSUMER_PROTOCOL_TYPE } from "./consumer_protocol.ts";
import type { Group } from "./group.ts";

/** A {@linkcode GroupSource} over `groups()`. */
export function groupSource(groups: () => Iterable<Group>): GroupSource {
  return { listGroups: () => [...groups()].map(groupView) };
}

/** One group's view. */
export function groupView(g: Group): GroupView {
  const consumer = g.protocolType === CONSUMER_PROTOCOL_TYPE;
  return {
    groupId: g.groupId,
    state: g.state,
    protocolType: g.protocolType ?? "",
    protocol: g.protocolName ?? "",
    members: [...g.members.values()].map((m) => ({
      memberId: m.memberId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      instanceId: m.groupInstanceId,
      assignments: consumer ? assignedPartitions(m.assignment) : [],
    })),
    offsets: [...g.offsets].flatMap(([topic, byPartition]) =>
      [...byPartition].map(([partition, c]) => ({ topic, partition, committedOffset: c.offset }))
    ),
  };
}
