import { memoryLibc } from "../ffi/memory.ts";
import type { Libc } from "../ffi/port.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { assertEquals } from "../util/assert.ts";
import { ClientQuotaStore } from "./client_quota_store.ts";

function open(libc: Libc = memoryLibc({ seed: 1 })) {
  libc.mkdirp("/data");
  return { libc, store: ClientQuotaStore.open(libc, "/data") };
}

type Entity = { entityType: string; entityName: string | null }[];

function set(entity: Entity, key: string, value: number) {
  return { entity, ops: [{ key, value, remove: false }] };
}

const client = (name: string | null): Entity => [{ entityType: "client-id", entityName: name }];

Deno.test("ClientQuotaStore keeps quotas across a reopen", () => {
  const { libc, store } = open();
  assertEquals(store.isEmpty, true);
  const outcomes = store.alter([
    set(client("app"), "producer_byte_rate", 1024),
    set(client(null), "consumer_byte_rate", 2048),
  ], false);
  assertEquals(outcomes.map((o) => o.errorCode), [ErrorCode.NONE, ErrorCode.NONE]);
  const again = open(libc).store;
  assertEquals(again.isEmpty, false);
  assertEquals(again.get("app"), { producer_byte_rate: 1024 });
  assertEquals(again.get(null), { consumer_byte_rate: 2048 });
  assertEquals(again.get("other"), undefined);
});

Deno.test("ClientQuotaStore.alter() removes keys, and entities left without any", () => {
  const { libc, store } = open();
  store.alter([{
    entity: client("app"),
    ops: [
      { key: "producer_byte_rate", value: 1000, remove: false },
      { key: "consumer_byte_rate", value: 2000, remove: false },
    ],
  }], false);
  store.alter([{
    entity: client("app"),
    ops: [{ key: "producer_byte_rate", value: 0, remove: true }],
  }], false);
  assertEquals(open(libc).store.get("app"), { consumer_byte_rate: 2000 });
  store.alter([{
    entity: client("app"),
    ops: [{ key: "consumer_byte_rate", value: 0, remove: true }],
  }], false);
  assertEquals(store.isEmpty, true);
  assertEquals(open(libc).store.isEmpty, true);
});

Deno.test("ClientQuotaStore.alter() with validateOnly changes nothing", () => {
  const { libc, store } = open();
  const outcomes = store.alter([set(client("app"), "producer_byte_rate", 1)], true);
  assertEquals(outcomes[0].errorCode, ErrorCode.NONE);
  assertEquals(store.isEmpty, true);
  assertEquals(libc.exists("/data/denka-client-quotas.json"), false);
});

Deno.test("ClientQuotaStore.alter() refuses what Kafka refuses, entry by entry", () => {
  const { store } = open();
  const cases: [ReturnType<typeof set>, string][] = [
    [set(client("a"), "no_such_key", 1), "Invalid configuration key no_such_key"],
    [set(client("a"), "producer_byte_rate", -5), "Quota producer_byte_rate must be greater than 0"],
    [set(client("a"), "producer_byte_rate", 0), "Quota producer_byte_rate must be greater than 0"],
    [
      set(client("a"), "consumer_byte_rate", 1.5),
      "consumer_byte_rate cannot be a fractional value.",
    ],
    [
      set(client("a"), "consumer_byte_rate", 1e20),
      "Proposed value for consumer_byte_rate is too large for a LONG.",
    ],
    [
      set([{ entityType: "topic", entityName: "a" }], "producer_byte_rate", 1),
      "Unhandled client quota entity type: topic",
    ],
    [set([], "producer_byte_rate", 1), "Invalid empty client quota entity"],
    [set(client(""), "producer_byte_rate", 1), "Empty client-id not supported"],
    [
      set([...client("a"), ...client("b")], "producer_byte_rate", 1),
      "Invalid client quota entity, duplicate entity entry client-id",
    ],
    [
      set([{ entityType: "user", entityName: "alice" }], "producer_byte_rate", 1),
      "Denka enforces client-id quotas only, not user quotas.",
    ],
    [
      set(client("a"), "request_percentage", 50),
      "Denka does not enforce request_percentage; only producer_byte_rate and consumer_byte_rate can be set.",
    ],
  ];
  for (const [entry, message] of cases) {
    const outcomes = store.alter([entry], false);
    assertEquals(outcomes, [{ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: message }]);
  }
  assertEquals(store.isEmpty, true);
});

Deno.test("ClientQuotaStore.alter() applies an entry whole or not at all", () => {
  const { store } = open();
  const outcomes = store.alter([
    {
      entity: client("a"),
      ops: [
        { key: "producer_byte_rate", value: 100, remove: false },
        { key: "consumer_byte_rate", value: -1, remove: false },
      ],
    },
    {
      entity: client("b"),
      ops: [
        { key: "producer_byte_rate", value: 100, remove: false },
        { key: "producer_byte_rate", value: 200, remove: false },
      ],
    },
    set(client("c"), "producer_byte_rate", 300),
    set(client("c"), "producer_byte_rate", 400),
  ], false);
  assertEquals(outcomes.map((o) => o.errorCode), [
    ErrorCode.INVALID_REQUEST,
    ErrorCode.INVALID_REQUEST,
    ErrorCode.NONE,
    ErrorCode.INVALID_REQUEST,
  ]);
  assertEquals(outcomes[3].errorMessage?.startsWith("Ignoring duplicate entity"), true);
  assertEquals(store.get("a"), undefined);
  assertEquals(store.get("b"), undefined);
  assertEquals(store.get("c"), { producer_byte_rate: 300 });
});

function filled() {
  const { store } = open();
  store.alter([
    set(client("a"), "producer_byte_rate", 1),
    set(client("b"), "consumer_byte_rate", 2),
    set(client(null), "producer_byte_rate", 3),
  ], false);
  return store;
}

function names(outcome: ReturnType<ClientQuotaStore["describe"]>): (string | null)[] | null {
  return outcome.entities?.map((e) => e.clientId).sort() ?? null;
}

Deno.test("ClientQuotaStore.describe() matches as Kafka matches", () => {
  const store = filled();
  const c = (matchType: number, match: string | null, entityType = "client-id") => ({
    entityType,
    matchType,
    match,
  });
  assertEquals(names(store.describe([], false)), ["a", "b", null].sort());
  assertEquals(names(store.describe([], true)), []);
  assertEquals(names(store.describe([c(0, "a")], true)), ["a"]);
  assertEquals(store.describe([c(0, "a")], false).entities, [
    { clientId: "a", values: { producer_byte_rate: 1 } },
  ]);
  assertEquals(names(store.describe([c(0, "zzz")], false)), []);
  assertEquals(names(store.describe([c(1, null)], false)), [null]);
  assertEquals(names(store.describe([c(2, null)], true)), ["a", "b", null].sort());
  assertEquals(names(store.describe([c(2, null, "user")], false)), []);
  assertEquals(names(store.describe([c(2, null), c(2, null, "user")], false)), []);
});

Deno.test("ClientQuotaStore.describe() refuses bad filters with Kafka's codes", () => {
  const store = filled();
  const refused = (
    components: { entityType: string; matchType: number; match: string | null }[],
  ) => {
    const outcome = store.describe(components, false);
    assertEquals(outcome.entities, null);
    return outcome.errorCode;
  };
  assertEquals(
    refused([{ entityType: "topic", matchType: 0, match: "x" }]),
    ErrorCode.UNSUPPORTED_VERSION,
  );
  assertEquals(
    refused([{ entityType: "client-id", matchType: 7, match: null }]),
    ErrorCode.UNSUPPORTED_VERSION,
  );
  assertEquals(refused([{ entityType: "", matchType: 0, match: "x" }]), ErrorCode.INVALID_REQUEST);
  assertEquals(
    refused([{ entityType: "client-id", matchType: 0, match: null }]),
    ErrorCode.INVALID_REQUEST,
  );
  assertEquals(
    refused([{ entityType: "client-id", matchType: 1, match: "x" }]),
    ErrorCode.INVALID_REQUEST,
  );
  assertEquals(
    refused([{ entityType: "client-id", matchType: 2, match: "x" }]),
    ErrorCode.INVALID_REQUEST,
  );
  assertEquals(
    refused([
      { entityType: "client-id", matchType: 2, match: null },
      { entityType: "client-id", matchType: 1, match: null },
    ]),
    ErrorCode.INVALID_REQUEST,
  );
  assertEquals(
    refused([
      { entityType: "ip", matchType: 2, match: null },
      { entityType: "client-id", matchType: 1, match: null },
    ]),
    ErrorCode.INVALID_REQUEST,
  );
});
