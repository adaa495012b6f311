import { assertEquals, assertThrows } from "../util/assert.ts";
import {
  advertisedAddress,
  ListenerConfigError,
  parseListenerList,
  parseSecurityProtocolMap,
  resolveListeners,
} from "./listeners.ts";
import { ConfigError, resolveConfig } from "./config.ts";

const DEFAULT = "127.0.0.1:9092";

Deno.test("parseListenerList() reads names (upper-cased), hosts, bracketed IPv6 and ports", () => {
  assertEquals(
    parseListenerList(
      "plaintext://127.0.0.1:9092, SASL_SSL://0.0.0.0:9093,x://[::1]:0,E://:1",
      "k",
    ),
    [
      { name: "PLAINTEXT", hostname: "127.0.0.1", port: 9092 },
      { name: "SASL_SSL", hostname: "0.0.0.0", port: 9093 },
      { name: "X", hostname: "::1", port: 0 },
      { name: "E", hostname: "", port: 1 },
    ],
  );
});

Deno.test("parseListenerList() refuses malformed entries, a twice-named listener and an empty list", () => {
  for (const bad of ["127.0.0.1:9092", "PLAINTEXT://host", "P://h:70000", "P//h:1", "P://h:x"]) {
    assertThrows(
      () => parseListenerList(bad, "listeners"),
      ListenerConfigError,
      "NAME://HOST:PORT",
    );
  }
  assertThrows(
    () => parseListenerList("A://h:1,a://h:2", "listeners"),
    ListenerConfigError,
    `"A" twice`,
  );
  assertThrows(() => parseListenerList(" , ", "listeners"), ListenerConfigError, "no listener");
});

Deno.test("parseSecurityProtocolMap() maps names to Kafka's four protocols, nothing else", () => {
  const map = parseSecurityProtocolMap("internal:SASL_PLAINTEXT, EXTERNAL:sasl_ssl");
  assertEquals([...map], [["INTERNAL", "SASL_PLAINTEXT"], ["EXTERNAL", "SASL_SSL"]]);
  assertThrows(() => parseSecurityProtocolMap("A:TLS"), ListenerConfigError, `"A:TLS"`);
  assertThrows(() => parseSecurityProtocolMap("A"), ListenerConfigError, "NAME:PROTOCOL");
  assertThrows(() => parseSecurityProtocolMap("A:SSL,a:SSL"), ListenerConfigError, "twice");
});

Deno.test("resolveListeners() without settings is one PLAINTEXT listener on the default address", () => {
  const r = resolveListeners({}, DEFAULT);
  assertEquals(r.listeners, [{
    name: "PLAINTEXT",
    hostname: "127.0.0.1",
    port: 9092,
    securityProtocol: "PLAINTEXT",
    advertised: undefined,
  }]);
  assertEquals(r.interBrokerListenerName, "PLAINTEXT");
  const short = resolveListeners({ listen: "0.0.0.0:1234", advertise: "broker1:1234" }, DEFAULT);
  assertEquals(short.listeners[0].advertised, {
    name: "PLAINTEXT",
    hostname: "broker1",
    port: 1234,
  });
});

Deno.test("resolveListeners() takes protocols from Kafka's default map or the given one", () => {
  const r = resolveListeners({ listeners: "PLAINTEXT://:9092,SASL_SSL://0.0.0.0:9093" }, DEFAULT);
  assertEquals(r.listeners.map((l) => [l.name, l.securityProtocol, l.hostname]), [
    ["PLAINTEXT", "PLAINTEXT", "0.0.0.0"],
    ["SASL_SSL", "SASL_SSL", "0.0.0.0"],
  ]);
  const custom = resolveListeners({
    listeners: "INTERNAL://127.0.0.1:9094,EXTERNAL://127.0.0.1:9095",
    securityProtocolMap: "INTERNAL:SASL_PLAINTEXT,EXTERNAL:SSL",
    interBrokerListenerName: "internal",
  }, DEFAULT);
  assertEquals(custom.listeners.map((l) => l.securityProtocol), ["SASL_PLAINTEXT", "SSL"]);
  assertEquals(custom.interBrokerListenerName, "INTERNAL");
  assertThrows(
    () => resolveListeners({ listeners: "INTERNAL://h:1" }, DEFAULT),
    ListenerConfigError,
    `Listener "INTERNAL" has no security protocol`,
  );
  // A given map replaces the default one, as in Kafka.
  assertThrows(
    () => resolveListeners({ listeners: "SSL://h:1", securityProtocolMap: "X:SSL" }, DEFAULT),
    ListenerConfigError,
    `"SSL" has no security protocol`,
  );
});

Deno.test("resolveListeners() refuses --listen with listeners, shared ports and stray advertised names", () => {
  assertThrows(
    () => resolveListeners({ listen: "h:1", listeners: "PLAINTEXT://h:2" }, DEFAULT),
    ListenerConfigError,
    `"listen" ("h:1") and "listeners" ("PLAINTEXT://h:2") are both set`,
  );
  assertThrows(
    () => resolveListeners({ listeners: "PLAINTEXT://a:5,SSL://b:5" }, DEFAULT),
    ListenerConfigError,
    `both use port "5"`,
  );
  resolveListeners({ listeners: "PLAINTEXT://a:0,SSL://b:0" }, DEFAULT); // port 0: a free one each
  assertThrows(
    () =>
      resolveListeners(
        { listeners: "PLAINTEXT://a:1", advertisedListeners: "SSL://b:2" },
        DEFAULT,
      ),
    ListenerConfigError,
    `names listener "SSL"`,
  );
  assertThrows(
    () =>
      resolveListeners(
        { listeners: "PLAINTEXT://a:1", advertisedListeners: "PLAINTEXT://0.0.0.0:1" },
        DEFAULT,
      ),
    ListenerConfigError,
    "wildcard",
  );
  assertThrows(
    () => resolveListeners({ listeners: "PLAINTEXT://a:1", advertise: "b:1" }, DEFAULT),
    ListenerConfigError,
    `"advertise" goes with "listen"`,
  );
  assertThrows(
    () => resolveListeners({ listeners: "PLAINTEXT://a:1", interBrokerListenerName: "X" }, DEFAULT),
    ListenerConfigError,
    `"inter.broker.listener.name" is "X", which is not a listener`,
  );
});

Deno.test("resolveListeners() defaults the inter-broker listener to PLAINTEXT, else the first", () => {
  const tlsOnly = resolveListeners({ listeners: "SSL://a:1,SASL_SSL://a:2" }, DEFAULT);
  assertEquals(tlsOnly.interBrokerListenerName, "SSL");
  const mixed = resolveListeners({ listeners: "SSL://a:1,PLAINTEXT://a:2" }, DEFAULT);
  assertEquals(mixed.interBrokerListenerName, "PLAINTEXT");
});

Deno.test("advertisedAddress() uses advertised.listeners, else the bound address without a wildcard", () => {
  const [a, b] = resolveListeners({
    listeners: "PLAINTEXT://0.0.0.0:0,SSL://127.0.0.2:0",
    advertisedListeners: "SSL://broker.example:0",
  }, DEFAULT).listeners;
  assertEquals(advertisedAddress(a, { hostname: "0.0.0.0", port: 4000 }), {
    hostname: "127.0.0.1",
    port: 4000,
  });
  // Port 0 advertised: the bound port.
  assertEquals(advertisedAddress(b, { hostname: "127.0.0.2", port: 4001 }), {
    hostname: "broker.example",
    port: 4001,
  });
});

Deno.test("resolveConfig() reads Kafka's listener keys from a config file and checks TLS needs", () => {
  const c = resolveConfig([{
    options: {
      listeners: "PLAINTEXT://127.0.0.1:9092,SSL://127.0.0.1:9093",
      "tls-cert": "/c.pem",
      "tls-key": "/k.pem",
    },
    topics: {},
  }]);
  assertEquals(c.listeners.map((l) => l.securityProtocol), ["PLAINTEXT", "SSL"]);
  assertEquals(c.listen, { hostname: "127.0.0.1", port: 9092 });
  assertEquals(c.tls, {
    certFile: "/c.pem",
    keyFile: "/k.pem",
    caFile: undefined,
    clientAuth: "none",
  });
  assertThrows(
    () => resolveConfig([{ options: { listeners: "SSL://127.0.0.1:1" }, topics: {} }]),
    ConfigError,
    `Listener "SSL" uses SSL: set "tls-cert"`,
  );
  assertThrows(
    () =>
      resolveConfig([{
        options: { "tls-cert": "/c", "tls-key": "/k", "ssl-client-auth": "required" },
        topics: {},
      }]),
    ConfigError,
    `set "tls-ca"`,
  );
  assertThrows(
    () => resolveConfig([{ options: { listen: "h:1", listeners: "PLAINTEXT://h:2" }, topics: {} }]),
    ConfigError,
    "both set",
  );
});
