/**
 * Which group coordinator answers a group request. On one node: the broker's
 * own ({@linkcode RequestContext.broker.groups}). In a cluster: the
 * coordinator of the group's `__consumer_offsets` partition when this broker
 * leads it and has loaded it, else NOT_COORDINATOR or
 * COORDINATOR_LOAD_IN_PROGRESS (see `cluster/cluster_groups.ts`); a request
 * that wrote to the replicated group log is answered only once its writes
 * have committed (acks=all), or with the error they came to.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { RequestContext } from "../context.ts";
import type { GroupCoordinator, GroupListing } from "../groups/coordinator.ts";

/** The coordinator of `groupId` here, or the error code to answer (read-only requests). */
export function groupCoordinatorOf(
  ctx: RequestContext,
  groupId: string,
): GroupCoordinator | number {
  const clusterGroups = ctx.broker.clusterGroups;
  if (clusterGroups === undefined) return ctx.broker.groups;
  const route = clusterGroups.route(groupId);
  return "errorCode" in route ? route.errorCode : route.loaded.coordinator;
}

/**
 * Runs `run` with the coordinator of `groupId` and answers what it returns once the group
 * log writes it made have committed; `refuse(errorCode)` when this broker does not coordinate
 * the group or a write failed (Kafka's mapping: NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE).
 */
export function withGroupCoordinator<R>(
  ctx: RequestContext,
  groupId: string,
  run: (coordinator: GroupCoordinator) => R | Promise<R>,
  refuse: (errorCode: number) => R,
): R | Promise<R> {
  const clusterGroups = ctx.broker.clusterGroups;
  if (clusterGroups === undefined) return run(ctx.broker.groups);
  const route = clusterGroups.route(groupId);
  if ("errorCode" in route) return refuse(route.errorCode);
  const { coordinator, log } = route.loaded;
  const sinceWrite = log.writeCount;
  return (async () => {
    const answer = await run(coordinator);
    const errorCode = await log.settled(sinceWrite);
    return errorCode === ErrorCode.NONE ? answer : refuse(errorCode);
  })();
}

/** ListGroups: the groups of this node, or in a cluster of every partition loaded here. */
export function listGroups(
  ctx: RequestContext,
  statesFilter: readonly string[],
  typesFilter: readonly string[],
): GroupListing[] {
  const clusterGroups = ctx.broker.clusterGroups;
  if (clusterGroups === undefined) return ctx.broker.groups.list(statesFilter, typesFilter);
  return clusterGroups.loadedPartitions().flatMap((p) =>
    p.coordinator.list(statesFilter, typesFilter)
  );
}
