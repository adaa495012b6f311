/**
 * What the HTTP API and /metrics need to know about consumer groups, as one
 * small interface: the consumer-groups engine (`broker/groups/`) provides it,
 * and until one is wired in, {@linkcode noGroups} answers "no groups". Lag is
 * computed here from each partition's high watermark, so a source only
 * reports what it owns: members, assignments and committed offsets.
 *
 * @module
 */

/** A member of a group, as a coordinator sees it. */
export interface GroupMemberView {
  readonly memberId: string;
  readonly clientId: string;
  readonly clientHost: string;
  readonly instanceId: string | null;
  /** The partitions assigned to this member (empty when unknown). */
  readonly assignments: readonly { readonly topic: string; readonly partition: number }[];
}

/** One committed offset. */
export interface CommittedOffsetView {
  readonly topic: string;
  readonly partition: number;
  readonly committedOffset: number;
}

/** A consumer group. */
export interface GroupView {
  readonly groupId: string;
  /** Kafka's names: Empty, PreparingRebalance, CompletingRebalance, Stable, Dead. */
  readonly state: string;
  readonly protocolType: string;
  /** The assignor chosen (`range`, `cooperative-sticky`, ...), "" when none. */
  readonly protocol: string;
  readonly members: readonly GroupMemberView[];
  readonly offsets: readonly CommittedOffsetView[];
}

/** Where group views come from. */
export interface GroupSource {
  /** Every group the coordinator knows, in any order. */
  listGroups(): GroupView[];
}

/** A source with no groups (no coordinator wired in). */
export const noGroups: GroupSource = { listGroups: () => [] };
