import { assertEquals, assertThrows } from "../util/assert.ts";
import { ConfigError, parseConfigText, resolveConfig, settingsFromArgs } from "./config.ts";

Deno.test("resolveConfig() gives Kafka's replication defaults in a cluster", () => {
  const c = resolveConfig([settingsFromArgs(["--etcd", "http://127.0.0.1:2379"])]);
  assertEquals(c.cluster?.replicaLagTimeMaxMs, 30000);
  assertEquals(c.cluster?.replicaFetchBackoffMs, 1000);
  assertEquals(c.cluster?.replicaSocketTimeoutMs, 30000);
});

Deno.test("resolveConfig() reads the replication options by flag and by Kafka's key", () => {
  const file = parseConfigText(
    "etcd.endpoints=http://127.0.0.1:2379\nreplica.lag.time.max.ms=5000\nreplica.fetch.backoff.ms=50\n",
    false,
  );
  const args = settingsFromArgs(["--replica-socket-timeout-ms", "7000"]);
  const c = resolveConfig([file, args]);
  assertEquals(c.cluster?.replicaLagTimeMaxMs, 5000);
  assertEquals(c.cluster?.replicaFetchBackoffMs, 50);
  assertEquals(c.cluster?.replicaSocketTimeoutMs, 7000);
  assertThrows(
    () =>
      resolveConfig([settingsFromArgs([
        "--etcd",
        "http://127.0.0.1:2379",
        "--replica-lag-time-max-ms",
        "0",
      ])]),
    (e: unknown) => e instanceof ConfigError && /replica-lag-time-max-ms/.test(e.message),
  );
});

Deno.test("resolveConfig() takes the inter-broker TLS and SASL login, refuses a missing login or required client certificates", () => {
  const cluster = (listener: string, ...more: string[]) =>
    settingsFromArgs([
      "--etcd",
      "http://127.0.0.1:2379",
      "--listeners",
      "SASL_PLAINTEXT://127.0.0.1:9093,PLAINTEXT://127.0.0.1:9092,SSL://127.0.0.1:9094,SASL_SSL://127.0.0.1:9095",
      "--inter-broker-listener-name",
      listener,
      "--tls-cert",
      "/cert.pem",
      "--tls-key",
      "/key.pem",
      ...more,
    ]);
  assertThrows(
    () => resolveConfig([cluster("SASL_PLAINTEXT")]),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.message.includes(`inter-broker listener "SASL_PLAINTEXT" uses SASL_PLAINTEXT`) &&
      e.message.includes(`"inter-broker-password-file"`),
  );
  const login = ["--inter-broker-username", "broker", "--inter-broker-password-file", "/pw"];
  assertEquals(resolveConfig([cluster("SASL_PLAINTEXT", ...login)]).cluster?.interBrokerSasl, {
    mechanism: "PLAIN",
    username: "broker",
    passwordFile: "/pw",
  });
  const file = parseConfigText("sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512\n", false);
  assertEquals(
    resolveConfig([file, cluster("SASL_PLAINTEXT", ...login)]).cluster?.interBrokerSasl
      ?.mechanism,
    "SCRAM-SHA-512",
  );
  assertThrows(
    () =>
      resolveConfig([
        cluster("SASL_PLAINTEXT", ...login, "--sasl-mechanism-inter-broker-protocol", "GSSAPI"),
      ]),
    (e: unknown) =>
      e instanceof ConfigError && e.message.includes(`"sasl-mechanism-inter-broker-protocol"`),
  );
  // TLS: trusting tls-ca (or the system roots without it), with the SASL login on SASL_SSL.
  assertEquals(resolveConfig([cluster("SSL")]).cluster?.interBrokerTls, { caFile: undefined });
  assertEquals(resolveConfig([cluster("SSL")]).cluster?.interBrokerSasl, undefined);
  const saslSsl = resolveConfig([cluster("SASL_SSL", ...login, "--tls-ca", "/ca.pem")]).cluster;
  assertEquals(saslSsl?.interBrokerTls, { caFile: "/ca.pem" });
  assertEquals(saslSsl?.interBrokerSasl?.username, "broker");
  assertThrows(
    () => resolveConfig([cluster("SSL", "--ssl-client-auth", "required", "--tls-ca", "/ca.pem")]),
    (e: unknown) =>
      e instanceof ConfigError && e.message.includes(`inter-broker listener "SSL" uses SSL with`),
  );
  assertEquals(resolveConfig([cluster("PLAINTEXT", ...login)]).cluster?.interBrokerSasl, undefined);
  const plainInterBroker = settingsFromArgs([
    "--etcd",
    "http://127.0.0.1:2379",
    "--listeners",
    "SASL_PLAINTEXT://127.0.0.1:9093,PLAINTEXT://127.0.0.1:9092",
    "--inter-broker-listener-name",
    "PLAINTEXT",
  ]);
  assertEquals(resolveConfig([plainInterBroker]).cluster?.replicaLagTimeMaxMs, 30000);
  // One node keeps any inter-broker listener (nothing connects to it).
  const single = settingsFromArgs(["--listeners", "SASL_PLAINTEXT://127.0.0.1:9093"]);
  assertEquals(resolveConfig([single]).cluster, undefined);
});

Deno.test("resolveConfig() reads transaction.state.log.replication.factor (default 3) in a cluster", () => {
  const etcd = ["--etcd", "http://127.0.0.1:2379"];
  assertEquals(resolveConfig([settingsFromArgs(etcd)]).cluster?.txnStateLogReplicationFactor, 3);
  const file = parseConfigText("transaction.state.log.replication.factor=2\n", false);
  const c = resolveConfig([file, settingsFromArgs(etcd)]);
  assertEquals(c.cluster?.txnStateLogReplicationFactor, 2);
  assertThrows(
    () =>
      resolveConfig([
        settingsFromArgs([...etcd, "--transaction-state-log-replication-factor", "0"]),
      ]),
    (e: unknown) =>
      e instanceof ConfigError && /transaction-state-log-replication-factor/.test(e.message),
  );
});
