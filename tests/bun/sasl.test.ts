/**
 * SASL over a real SASL_PLAINTEXT listener under Bun (`deno task test:bun`):
 * the broker runs in this Bun process, kafkajs logs in with SCRAM-SHA-256
 * and produces, and a wrong password is refused with Kafka's message.
 *
 * @module
 */
import { test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { Broker } from "../../broker/broker.ts";
import { resolveConfig } from "../../broker/config.ts";
import { addScramUsers } from "../interop/sasl_broker.ts";
import { assert } from "../../util/assert.ts";

test("SASL_PLAINTEXT under Bun: kafkajs logs in with SCRAM-SHA-256; a wrong password is refused", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "denka-sasl-bun-"));
  try {
    await addScramUsers(dataDir, [
      { name: "alice", password: "alice-secret", mechanisms: ["SCRAM-SHA-256"] },
    ]);
    const config = resolveConfig([{
      options: {
        listeners: "SASL_PLAINTEXT://127.0.0.1:0",
        "data-dir": dataDir,
        http: "off",
        "log-level": "error",
      },
      topics: {},
    }]);
    const broker = await Broker.start(config);
    try {
      const bootstrap = `127.0.0.1:${broker.listeners[0].port}`;
      const client = (password: string) =>
        new Kafka({
          clientId: "denka-bun-sasl",
          brokers: [bootstrap],
          sasl: { mechanism: "scram-sha-256", username: "alice", password },
          logLevel: logLevel.NOTHING,
          retry: { retries: 0 },
        });
      const producer = client("alice-secret").producer();
      await producer.connect();
      const [sent] = await producer.send({ topic: "bun-sasl", messages: [{ value: "v" }] });
      await producer.disconnect();
      assert.equal(sent.errorCode, 0);
      assert.equal(broker.topics.get("bun-sasl")?.partitions[0].log.highWatermark, 1);

      const refused = client("wrong").producer();
      await assert.rejects(
        () => refused.connect(),
        /invalid credentials with SASL mechanism SCRAM-SHA-256/,
      );
      assert.equal(broker.sasl.counters.logins, 1);
      assert.equal(broker.sasl.counters.failedLogins, 1);
    } finally {
      await broker.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
