/**
 * Which segments retention deletes (Kafka's `UnifiedLog.deleteOldSegments`):
 * always whole segments, oldest first, as a prefix of the log.
 * - `retention.ms`: a segment whose newest record timestamp is more than
 *   `retentionMs` before now;
 * - `retention.bytes`: while the log minus the segment stays at or above
 *   `retentionBytes`;
 * - the log start offset (DeleteRecords): a segment whose successor starts at
 *   or below it.
 * The first two apply only with `cleanup.policy` containing `delete`. The
 * active segment may go too when it is not empty (the log rolls first, so a
 * log always keeps one segment).
 *
 * @module
 */

/** What retention needs to know about a segment. */
export interface RetentionSegment {
  readonly baseOffset: number;
  readonly sizeBytes: number;
  /** The segment's largest record timestamp, -1 when empty. */
  readonly maxTimestampMs: number;
}

/** The settings and state retention decides by. */
export interface RetentionPolicy {
  readonly nowMs: number;
  /** -1: keep forever. */
  readonly retentionMs: number;
  /** -1: no size limit. */
  readonly retentionBytes: number;
  readonly cleanupDelete: boolean;
  readonly logStartOffset: number;
}

/** Why segments are deleted (for the log line). */
export type RetentionReason = "retention.ms" | "retention.bytes" | "log start offset";

/** How many of the oldest segments to delete and the rule that reached furthest. */
export interface RetentionVerdict {
  readonly count: number;
  readonly reason: RetentionReason | undefined;
}

/** See the module doc; `segments` are in offset order, the active one last. */
export function retentionBreached(
  segments: readonly RetentionSegment[],
  policy: RetentionPolicy,
): RetentionVerdict {
  let count = 0;
  let reason: RetentionReason | undefined = undefined;
  const consider = (n: number, why: RetentionReason) => {
    if (n > count) [count, reason] = [n, why];
  };
  // A segment is deletable only if it is not the last one while empty (Kafka's isLastSegmentAndEmpty).
  const deletable = (i: number) => i < segments.length - 1 || segments[i].sizeBytes > 0;
  if (policy.cleanupDelete && policy.retentionMs >= 0) {
    let n = 0;
    // An empty older segment (compacted away) has no timestamp and does not stop the scan.
    const expired = (s: RetentionSegment) =>
      s.maxTimestampMs < 0
        ? s.sizeBytes === 0
        : policy.nowMs - s.maxTimestampMs > policy.retentionMs;
    while (n < segments.length && deletable(n) && expired(segments[n])) n++;
    consider(n, "retention.ms");
  }
  if (policy.cleanupDelete && policy.retentionBytes >= 0) {
    let diffBytes = -policy.retentionBytes;
    for (const s of segments) diffBytes += s.sizeBytes;
    let n = 0;
    while (n < segments.length && deletable(n) && diffBytes - segments[n].sizeBytes >= 0) {
      diffBytes -= segments[n].sizeBytes;
      n++;
    }
    consider(n, "retention.bytes");
  }
  let n = 0;
  while (n + 1 < segments.length && segments[n + 1].baseOffset <= policy.logStartOffset) n++;
  consider(n, "log start offset");
  return { count, reason };
}
