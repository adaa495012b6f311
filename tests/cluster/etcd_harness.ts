/**
 * The conformance harness (`broker/cluster/_coordinator_conformance.ts`) for
 * the etcd adapter, runtime-neutral (fetch and timers only) so that the Deno
 * suite (`broker/cluster/etcd_test.ts`) and the Bun one
 * (`tests/bun/coordinator_etcd.test.ts`) share it: each harness gets a root
 * prefix of its own on a shared etcd, real time with a deadline, and
 * compaction through `/v3/kv/compaction`.
 *
 * @module
 */
import type { CoordinatorHarness } from "../../broker/cluster/_coordinator_conformance.ts";
import { EtcdCoordinator } from "../../broker/cluster/etcd.ts";
import { assertEquals } from "../../util/assert.ts";

/** Real time beyond a case's own bound before `until()` gives up (a loaded CI box). */
export const SLACK_MS = 5_000;

let caseCount = 0;

/** A harness whose clients talk to `endpoints` (default: the server's own URL). */
export function etcdHarness(
  server: { readonly clientUrl: string },
  endpoints = [server.clientUrl],
  callTimeoutMs = 5_000,
): CoordinatorHarness {
  const rootPrefix = `/denka-test/${++caseCount}/`;
  const clients: EtcdCoordinator[] = [];
  return {
    connect: () => {
      const client = new EtcdCoordinator({ endpoints, rootPrefix, callTimeoutMs });
      clients.push(client);
      return Promise.resolve(client);
    },
    async until<T>(promise: Promise<T>, label: string, maxMs: number): Promise<T> {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`"${label}" did not happen within ${maxMs} ms`)),
          maxMs + SLACK_MS,
        );
      });
      try {
        return await Promise.race([promise, deadline]);
      } finally {
        clearTimeout(timer);
      }
    },
    compact: async (revision) => {
      const response = await fetch(`${server.clientUrl}/v3/kv/compaction`, {
        method: "POST",
        body: JSON.stringify({ revision: String(revision), physical: true }),
      });
      assertEquals(response.status, 200, await response.text());
    },
    close: async () => {
      for (const client of clients) await client.close();
    },
  };
}
