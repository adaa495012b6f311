/**
 * Several listeners on one broker: custom names mapped through
 * `listener.security.protocol.map`, `advertised.listeners`, and Metadata,
 * FindCoordinator and DescribeCluster each answering with the advertised
 * address of the listener the request came in on (as Kafka does).
 */
import { startBroker } from "../../mod.ts";
import { defaultDescribeClusterRequest } from "../../protocol/messages/describe_cluster.ts";
import { defaultFindCoordinatorRequest } from "../../protocol/messages/find_coordinator.ts";
import { defaultMetadataRequest } from "../../protocol/messages/metadata.ts";
import {
  describeClusterApi,
  findCoordinatorApi,
  metadataApi,
} from "../../protocol/messages/mod.ts";
import { assertEquals } from "../../util/assert.ts";
import { makeDataDir, startTestBroker } from "./harness.ts";
import { withConnection } from "./raw_client.ts";

Deno.test("each listener's clients are told that listener's advertised address", async () => {
  const dataDir = await makeDataDir();
  const broker = await startTestBroker(dataDir, {
    listeners: "CLIENTS://127.0.0.1:0,internal://127.0.0.1:0",
    listenerSecurityProtocolMap: "CLIENTS:PLAINTEXT,INTERNAL:PLAINTEXT",
    advertisedListeners: "CLIENTS://clients.example:9092,INTERNAL://internal.example:0",
    interBrokerListenerName: "INTERNAL",
  });
  try {
    assertEquals(broker.config.interBrokerListenerName, "INTERNAL");
    const [clients, internal] = broker.listeners;
    assertEquals([clients.name, internal.name], ["CLIENTS", "INTERNAL"]);
    const expected = [
      [clients, { host: "clients.example", port: 9092 }],
      // Port 0 advertised: the bound port.
      [internal, { host: "internal.example", port: internal.port }],
    ] as const;
    for (const [listener, want] of expected) {
      await withConnection(`127.0.0.1:${listener.port}`, async (c) => {
        const metadata = await c.request(metadataApi, 12, defaultMetadataRequest());
        assertEquals(metadata.brokers.map((b) => ({ host: b.host, port: b.port })), [want]);
        const coordinator = await c.request(findCoordinatorApi, 3, {
          ...defaultFindCoordinatorRequest(),
          key: "g",
        });
        assertEquals({ host: coordinator.host, port: coordinator.port }, want);
        const batched = await c.request(findCoordinatorApi, 4, {
          ...defaultFindCoordinatorRequest(),
          coordinatorKeys: ["g"],
        });
        assertEquals(batched.coordinators.map((k) => ({ host: k.host, port: k.port })), [want]);
        const cluster = await c.request(describeClusterApi, 1, defaultDescribeClusterRequest());
        assertEquals(cluster.brokers.map((b) => ({ host: b.host, port: b.port })), [want]);
      });
    }
  } finally {
    await broker.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("startBroker() refuses listeners together with hostname/port, with a sentence", async () => {
  let message = "";
  try {
    await startBroker({ port: 0, listeners: "PLAINTEXT://127.0.0.1:0", dataDir: "/nonexistent" });
  } catch (e) {
    message = (e as Error).message;
  }
  assertEquals(
    message,
    `Options "listen" ("127.0.0.1:0") and "listeners" ("PLAINTEXT://127.0.0.1:0") are both set: ` +
      `"listen" is the short form of one PLAINTEXT listener, give one or the other.`,
  );
});
