import { assertEquals, assertRejects, assertThrows } from "../../util/assert.ts";
import { loadRuntime } from "../../ffi/load.ts";
import type { Socket } from "../../ffi/port.ts";
import { metadataApi } from "../../protocol/messages/mod.ts";
import { defaultMetadataRequest } from "../../protocol/messages/metadata.ts";
import { withSaslBroker } from "../../tests/interop/sasl_broker.ts";
import { BrokerClient } from "./broker_client.ts";
import { type InterBrokerSasl, readInterBrokerSasl } from "./inter_broker_login.ts";

const SASL_OPTIONS = { "sasl-enabled-mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512" };

function connectAs(bootstrap: string, sasl: InterBrokerSasl): Promise<BrokerClient> {
  const [host, port] = bootstrap.split(":");
  return BrokerClient.connect(loadRuntime(), { host, port: Number(port) }, "ibsec-test", {
    sasl,
  });
}

Deno.test("BrokerClient.connect() logs in with PLAIN and SCRAM, then requests pass", async () => {
  await withSaslBroker(SASL_OPTIONS, async (broker) => {
    for (const mechanism of ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] as const) {
      const client = await connectAs(broker.bootstrap, {
        mechanism,
        username: "alice",
        password: "alice-secret",
      });
      try {
        const metadata = await client.request(metadataApi, 12, defaultMetadataRequest());
        assertEquals(metadata.brokers.length, 1, mechanism);
      } finally {
        client.close();
      }
    }
  });
});

Deno.test("BrokerClient.connect() rejects a wrong password and a mechanism the leader has off", async () => {
  await withSaslBroker({ "sasl-enabled-mechanisms": "SCRAM-SHA-256" }, async (broker) => {
    await assertRejects(
      () =>
        connectAs(broker.bootstrap, {
          mechanism: "SCRAM-SHA-256",
          username: "alice",
          password: "wrong",
        }),
      /SCRAM-SHA-256 login as "alice" failed \(error code 58\)/,
    );
    await assertRejects(
      () => connectAs(broker.bootstrap, { mechanism: "PLAIN", username: "alice", password: "x" }),
      /"PLAIN" is not enabled on the leader \(error code 33, enabled: SCRAM-SHA-256\)/,
    );
  });
});

Deno.test("readInterBrokerSasl() drops one trailing newline and refuses an empty or missing file", () => {
  const files: Record<string, string> = { "/a": "p@ss word\n", "/b": "\n" };
  const libc = {
    readFile(path: string) {
      if (files[path] === undefined) throw new Error("ENOENT");
      return new TextEncoder().encode(files[path]);
    },
  };
  const settings = { mechanism: "PLAIN" as const, username: "broker" };
  assertEquals(
    readInterBrokerSasl(libc, { ...settings, passwordFile: "/a" }).password,
    "p@ss word",
  );
  assertThrows(() => readInterBrokerSasl(libc, { ...settings, passwordFile: "/b" }), /is empty/);
  assertThrows(
    () => readInterBrokerSasl(libc, { ...settings, passwordFile: "/c" }),
    /Cannot read the inter-broker password file "\/c": ENOENT/,
  );
});

Deno.test("BrokerClient.connect() gives up on a login the peer never answers", async () => {
  const runtime = loadRuntime();
  const accepted: Socket[] = [];
  const listener = await runtime.listen({ hostname: "127.0.0.1", port: 0 }, (socket) => {
    accepted.push(socket);
    return { onData: () => {}, onClose: () => {} };
  });
  try {
    await assertRejects(
      () =>
        BrokerClient.connect(runtime, { host: "127.0.0.1", port: listener.port }, "ibsec-test", {
          sasl: { mechanism: "PLAIN", username: "broker", password: "x" },
          loginTimeoutMs: 50,
        }),
      /No SASL login answer within 50 ms/,
    );
  } finally {
    for (const s of accepted) s.close();
    await listener.close();
  }
});
