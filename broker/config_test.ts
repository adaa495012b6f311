import { assert, assertEquals, assertThrows } from "../util/assert.ts";
import {
  ConfigError,
  helpText,
  optionDefs,
  parseConfigText,
  parseHostPort,
  resolveConfig,
  resolveFetchPath,
  settingsFromArgs,
  settingsFromEnv,
} from "./config.ts";

function throwsConfig(fn: () => unknown, message: RegExp): void {
  assertThrows(fn, (e: unknown) => e instanceof ConfigError && message.test(e.message));
}

Deno.test("resolveConfig() gives Kafka's defaults with no settings", () => {
  const c = resolveConfig([]);
  assertEquals(c.listen, { hostname: "127.0.0.1", port: 9092 });
  assertEquals(c.dataDir, "./data");
  assertEquals(c.defaultPartitions, 1);
  assertEquals(c.autoCreateTopics, true);
  assertEquals(c.writerKind, "pwrite");
  assertEquals(c.fetchPath, "auto");
  assertEquals(resolveFetchPath(c.fetchPath), "sendfile");
  assertEquals(resolveFetchPath("copy"), "copy");
  assertEquals(resolveFetchPath("sendfile"), "sendfile");
  assertEquals(c.topicDefaults["segment.bytes"], "1073741824");
  assertEquals(c.topicDefaults["index.interval.bytes"], "4096");
});

Deno.test("command line beats environment beats config file", () => {
  const file = parseConfigText(
    "num.partitions=3\nlog.segment.bytes=2048\nlisten=127.0.0.1:1\n",
    false,
  );
  const env = settingsFromEnv({ DENKA_PARTITIONS: "4", DENKA_LISTEN: "127.0.0.1:2" });
  const args = settingsFromArgs(["--listen", "127.0.0.1:3", "--no-auto-create"]);
  const c = resolveConfig([file, env, args]);
  assertEquals(c.listen.port, 3);
  assertEquals(c.defaultPartitions, 4);
  assertEquals(c.autoCreateTopics, false);
  assertEquals(c.topicDefaults["segment.bytes"], "2048");
});

Deno.test("a config file may set topic defaults by Kafka name, in properties or JSON", () => {
  const props = parseConfigText("# comment\nretention.ms = 60000\n", false);
  assertEquals(resolveConfig([props]).topicDefaults["retention.ms"], "60000");
  const json = parseConfigText('{"segment.bytes": 4096, "writer": "mmap"}', true);
  const c = resolveConfig([json]);
  assertEquals(c.topicDefaults["segment.bytes"], "4096");
  assertEquals(c.writerKind, "mmap");
});

Deno.test("--topic-config sets a default for every topic", () => {
  const args = settingsFromArgs(["--topic-config", "max.message.bytes=2000000"]);
  assertEquals(resolveConfig([args]).topicDefaults["max.message.bytes"], "2000000");
});

Deno.test("bad settings fail with a sentence naming the value", () => {
  throwsConfig(() => parseConfigText("bogus.key=1\n", false), /"bogus.key"/);
  throwsConfig(() => parseConfigText("no equals sign\n", false), /line 1/);
  throwsConfig(() => resolveConfig([settingsFromArgs(["--writer", "tape"])]), /"tape"/);
  throwsConfig(() => resolveConfig([settingsFromArgs(["--partitions", "x"])]), /"x"/);
  throwsConfig(() => settingsFromArgs(["--nope"]), /--help/);
  throwsConfig(() => resolveConfig([settingsFromArgs(["--segment-bytes", "5"])]), /segment.bytes/);
  throwsConfig(() => parseHostPort("localhost"), /HOST:PORT/);
  throwsConfig(() => parseHostPort("h:70000"), /HOST:PORT/);
});

Deno.test("--segment-index-bytes and its file and topic-config forms take storage's bounds", () => {
  const below = /"segment.index.bytes" must be between 12 .*time index entry is 12 bytes.*"10"/;
  throwsConfig(() => resolveConfig([settingsFromArgs(["--segment-index-bytes", "10"])]), below);
  throwsConfig(
    () => resolveConfig([settingsFromArgs(["--topic-config", "segment.index.bytes=10"])]),
    below,
  );
  throwsConfig(
    () => resolveConfig([parseConfigText("log.index.size.max.bytes=10\n", false)]),
    below,
  );
  const at = resolveConfig([settingsFromArgs(["--segment-index-bytes", "12"])]);
  assertEquals(at.topicDefaults["segment.index.bytes"], "12");
  throwsConfig(
    () => resolveConfig([settingsFromArgs(["--segment-bytes", "2147483648"])]),
    /"segment.bytes" must be between 14 and 2147483647/,
  );
});

Deno.test("parseHostPort() reads IPv4, names, bracketed IPv6 and a bare port", () => {
  assertEquals(parseHostPort("127.0.0.1:9092"), { hostname: "127.0.0.1", port: 9092 });
  assertEquals(parseHostPort("[::1]:9"), { hostname: "::1", port: 9 });
  assertEquals(parseHostPort(":0"), { hostname: "0.0.0.0", port: 0 });
});

Deno.test("--help lists every option", () => {
  const text = helpText();
  for (const d of optionDefs) {
    assert(text.includes(`--${d.name}`), `--${d.name} missing from --help`);
  }
  assert(settingsFromArgs(["--help"]).help);
});

Deno.test("quota options: unlimited by default, set by flag, env or Kafka's file keys", () => {
  const none = resolveConfig([]);
  assertEquals(none.quotaProducerBytesPerSec, undefined);
  assertEquals(none.quotaConsumerBytesPerSec, undefined);
  assertEquals(none.quotaWindowCount, 11);
  assertEquals(none.quotaWindowSizeMs, 1000);
  const file = parseConfigText(
    "quota.producer.default=1000\nquota.window.num=3\nquota.window.size.seconds=2\n",
    false,
  );
  const env = settingsFromEnv({ DENKA_QUOTA_CONSUMER_BYTE_RATE: "2000" });
  const args = settingsFromArgs(["--quota-producer-byte-rate", "1500"]);
  const c = resolveConfig([file, env, args]);
  assertEquals(c.quotaProducerBytesPerSec, 1500);
  assertEquals(c.quotaConsumerBytesPerSec, 2000);
  assertEquals(c.quotaWindowCount, 3);
  assertEquals(c.quotaWindowSizeMs, 2000);
  throwsConfig(
    () => resolveConfig([settingsFromArgs(["--quota-producer-byte-rate", "0"])]),
    /quota-producer-byte-rate/,
  );
  throwsConfig(
    () => resolveConfig([settingsFromArgs(["--quota-window-num", "-1"])]),
    /quota-window-num/,
  );
});

Deno.test("fetch session cache slots: 1000 by default, Kafka's key in a file, 0 turns them off", () => {
  assertEquals(resolveConfig([]).fetchSessionCacheSlotsMax, 1000);
  const file = parseConfigText("max.incremental.fetch.session.cache.slots=7\n", false);
  assertEquals(resolveConfig([file]).fetchSessionCacheSlotsMax, 7);
  const off = settingsFromArgs(["--fetch-session-cache-slots", "0"]);
  assertEquals(resolveConfig([off]).fetchSessionCacheSlotsMax, 0);
  throwsConfig(
    () => resolveConfig([settingsFromArgs(["--fetch-session-cache-slots", "-1"])]),
    /fetch-session-cache-slots/,
  );
});

Deno.test("connection limits take Kafka's names and defaults", () => {
  const c = resolveConfig([]);
  assertEquals(c.queuedRequestBytesMax, c.requestSizeBytesMax);
  assertEquals(c.connectionsIdleMsMax, 600000);
  assertEquals(c.frameTimeoutMs, 30000);
  assertEquals(c.connectionsMax, 2147483647);
  assertEquals(c.connectionsPerIpMax, 2147483647);
  const file = parseConfigText(
    "queued.max.request.bytes=-1\nconnections.max.idle.ms=1000\nmax.connections=10\nmax.connections.per.ip=3\nconnections-frame-timeout-ms=500",
    false,
  );
  const f = resolveConfig([file]);
  assertEquals(f.queuedRequestBytesMax, Infinity);
  assertEquals(f.connectionsIdleMsMax, 1000);
  assertEquals(f.connectionsMax, 10);
  assertEquals(f.connectionsPerIpMax, 3);
  assertEquals(f.frameTimeoutMs, 500);
  const raised = resolveConfig([{ options: { "request-max-bytes": "2000000" }, topics: {} }]);
  assertEquals(raised.queuedRequestBytesMax, 2000000);
});

Deno.test("queued.max.request.bytes below socket.request.max.bytes is refused", () => {
  throwsConfig(
    () => resolveConfig([{ options: { "queued-max-request-bytes": "1000000" }, topics: {} }]),
    /queued-max-request-bytes.*at least request-max-bytes \(104857600\).*"1000000"/,
  );
});

Deno.test("resolveConfig() reads authorizer.class.name, super.users and allow.everyone.if.no.acl.found", () => {
  const off = resolveConfig([]);
  assertEquals(off.authorizer, undefined);
  assertEquals(off.superUsers, []);
  assertEquals(off.allowEveryoneIfNoAclFound, false);
  for (
    const name of [
      "kafka.security.authorizer.AclAuthorizer",
      "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    ]
  ) {
    const file = parseConfigText(
      `authorizer.class.name=${name}\nsuper.users=User:admin;User:ops\n`,
      false,
    );
    const c = resolveConfig([file]);
    assertEquals(c.authorizer, "acl");
    assertEquals(c.superUsers, ["User:admin", "User:ops"]);
  }
  const args = settingsFromArgs(["--authorizer", "acl", "--allow-everyone-if-no-acl-found"]);
  assertEquals(resolveConfig([args]).authorizer, "acl");
  assertEquals(resolveConfig([args]).allowEveryoneIfNoAclFound, true);
});

Deno.test("resolveConfig() refuses an unknown authorizer and a super user without a type", () => {
  throwsConfig(
    () => resolveConfig([settingsFromArgs(["--authorizer", "com.example.Mine"])]),
    /"com.example.Mine"/,
  );
  throwsConfig(
    () => resolveConfig([settingsFromArgs(["--super-users", "User:admin;ops"])]),
    /"ops"/,
  );
});
