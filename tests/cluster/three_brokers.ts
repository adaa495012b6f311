/**
 * Three in-process brokers on one real etcd, for the cluster-wide groups and
 * transactions suites: short registration leases so that a stopped broker is
 * noticed quickly, no automatic leader rebalance (tests move leaders
 * themselves), and bounded waits on each broker's metadata cache.
 *
 * @module
 */
import { assert } from "../../util/assert.ts";
import { type BrokerHandle, startBroker, type StartBrokerOptions } from "../../mod.ts";
import { startEtcd } from "./etcd_server.ts";

/** The registration lease: short, so a broker that dies is noticed quickly. */
export const SESSION_MS = 2_000;
/** Bound of every wait on the cluster (a loaded CI box). */
export const WAIT_MS = 20_000;

/** Resolves once `predicate` holds on `broker`'s metadata cache; fails after {@linkcode WAIT_MS}. */
export async function waitFor(
  broker: BrokerHandle,
  predicate: () => boolean,
  what: string,
): Promise<void> {
  const ok = await broker.cluster!.cache.waitFor(predicate, WAIT_MS);
  assert(ok, `Timed out after ${WAIT_MS} ms waiting for ${what}`);
}

/**
 * Starts brokers 1-3 on a fresh etcd with `options` added (the same for all, or per node id),
 * waits until every broker sees all three and a controller, runs `fn`, and closes everything.
 */
export async function withThreeBrokers(
  prefix: string,
  options: Partial<StartBrokerOptions> | ((nodeId: number) => Partial<StartBrokerOptions>),
  fn: (brokers: BrokerHandle[]) => Promise<void>,
): Promise<void> {
  const etcd = await startEtcd();
  const dirs: string[] = [];
  const brokers: BrokerHandle[] = [];
  try {
    for (let nodeId = 1; nodeId <= 3; nodeId++) {
      const dataDir = await Deno.makeTempDir({ prefix: `${prefix}-${nodeId}-` });
      dirs.push(dataDir);
      brokers.push(
        await startBroker({
          port: 0,
          dataDir,
          nodeId,
          etcd: [etcd.clientUrl],
          brokerSessionTimeoutMs: SESSION_MS,
          autoLeaderRebalance: false,
          ...(typeof options === "function" ? options(nodeId) : options),
        }),
      );
    }
    for (const b of brokers) {
      await waitFor(b, () => b.cluster!.cache.brokers.size === 3, "3 brokers");
    }
    await waitFor(
      brokers[0],
      () => brokers[0].cluster!.cache.controller !== undefined,
      "controller",
    );
    await fn(brokers);
  } finally {
    for (const b of brokers) await b.close();
    await etcd.close();
    for (const dir of dirs) await Deno.remove(dir, { recursive: true });
  }
}
