import { assertEquals, assertRejects } from "../../util/assert.ts";
import { startBroker } from "../../mod.ts";
import { denoRuntime } from "../../ffi/deno.ts";
import { apiVersionsApi } from "../../protocol/messages/mod.ts";
import { defaultApiVersionsRequest } from "../../protocol/messages/api_versions.ts";
import { BrokerClientPool, type PeerEndpoint } from "./broker_client_pool.ts";

const REQUEST_TIMEOUT_MS = 300;

Deno.test("BrokerClientPool drops a connection after a timeout, connects again, follows a moved peer", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "denka-pool-" });
  const broker = await startBroker({ port: 0, dataDir, http: false });
  // A peer that takes connections and never answers.
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const silentConnections: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of silent) silentConnections.push(conn);
  })();
  const endpoints = new Map<number, PeerEndpoint>([
    [1, { host: "127.0.0.1", port: broker.port }],
    [2, { host: "127.0.0.1", port: (silent.addr as Deno.NetAddr).port }],
  ]);
  const pool = new BrokerClientPool({
    runtime: denoRuntime(),
    clientId: "pool-test",
    endpoint: (nodeId) => endpoints.get(nodeId),
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
  });
  try {
    const versions = () => pool.request(1, apiVersionsApi, 3, defaultApiVersionsRequest());
    assertEquals((await versions()).errorCode, 0);
    assertEquals((await versions()).errorCode, 0);
    await assertRejects(
      () => pool.request(3, apiVersionsApi, 3, defaultApiVersionsRequest()),
      /not live/,
    );
    await assertRejects(
      () => pool.request(2, apiVersionsApi, 3, defaultApiVersionsRequest()),
      /No answer from broker 2 within 300 ms/,
    );
    // The timed-out connection was dropped: the next request opens a second one.
    await assertRejects(
      () => pool.request(2, apiVersionsApi, 3, defaultApiVersionsRequest()),
      /No answer from broker 2 within 300 ms/,
    );
    assertEquals(silentConnections.length, 2);
    // The peer moved to the live broker's address: the pool follows the metadata.
    endpoints.set(2, endpoints.get(1)!);
    assertEquals(
      (await pool.request(2, apiVersionsApi, 3, defaultApiVersionsRequest())).errorCode,
      0,
    );
    pool.close();
    await assertRejects(() => versions(), /closed/);
  } finally {
    pool.close();
    silent.close();
    await accepting.catch(() => {});
    for (const conn of silentConnections) conn.close();
    await broker.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
