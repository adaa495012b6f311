/** Helpers shared by the group coordinator's unit tests: a coordinator on the in-memory libc and a manual clock. */
import type { Libc } from "../../ffi/port.ts";
import { createLogger } from "../../util/log.ts";
import { GroupCoordinator } from "./coordinator.ts";
import type { JoinResult } from "./group.ts";
import type { GroupSettings, JoinRequest } from "./membership.ts";
import { ManualClock } from "./timers.ts";

/** Settings with short timeouts. */
export const TEST_SETTINGS: GroupSettings = {
  initialRebalanceDelayMs: 0,
  minSessionTimeoutMs: 100,
  maxSessionTimeoutMs: 60_000,
  offsetsRetentionMs: 60_000,
  offsetsRetentionCheckIntervalMs: 10_000,
  offsetMetadataMaxBytes: 4096,
};

/** Partitions "t" 0..3 exist, each with high watermark 100. */
export const TEST_PARTITIONS = {
  highWatermark: (topic: string, partition: number) =>
    topic === "t" && partition >= 0 && partition < 4 ? 100 : undefined,
};

/** A coordinator over `libc` at "/data" with a manual clock. */
export function openCoordinator(
  libc: Libc,
  clock: ManualClock,
  settings: Partial<GroupSettings> = {},
  compactMinBytes?: number,
): GroupCoordinator {
  libc.mkdirp("/data");
  return GroupCoordinator.open(libc, {
    dataDir: "/data",
    settings: { ...TEST_SETTINGS, ...settings },
    logger: createLogger("silent"),
    nowMs: () => clock.nowMs(),
    partitions: TEST_PARTITIONS,
    timerPort: clock,
    compactMinBytes,
  });
}

/** A JoinGroup with test defaults. */
export function joinRequest(fields: Partial<JoinRequest> = {}): JoinRequest {
  return {
    groupId: "g",
    memberId: "",
    groupInstanceId: null,
    requireKnownMemberId: false,
    clientId: "c",
    clientHost: "/127.0.0.1",
    rebalanceTimeoutMs: 5000,
    sessionTimeoutMs: 1000,
    protocolType: "consumer",
    protocols: [{ name: "range", metadata: new Uint8Array([1]) }],
    ...fields,
  };
}

/** Joins and returns the answer (which must come without the clock moving). */
export async function joinNow(
  c: GroupCoordinator,
  fields: Partial<JoinRequest> = {},
): Promise<JoinResult> {
  return await c.membership.join(joinRequest(fields));
}

export { ManualClock };
