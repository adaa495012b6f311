import { memoryLibc } from "../../ffi/memory.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { assert, assertEquals } from "../../util/assert.ts";
import { AclOperation as Op, AclPermissionType as Perm, PatternType, ResourceType } from "./acl.ts";
import { type AclCreation, AclStore } from "./acl_store.ts";
import {
  type AuthorizationContext,
  authorize,
  authorizeByResourceType,
  authorizedOperations,
  authorizeIdempotentWrite,
  authorizeQuietly,
  authorizeTopicCreation,
  hostOf,
  mergeRefused,
  refusedFetchTopics,
  refusedLeaderEpochTopics,
  refusedTopics,
  sessionOf,
  transactionalRequestRefusal,
} from "./authorize.ts";

function acl(fields: Partial<AclCreation>): AclCreation {
  return {
    resourceType: ResourceType.TOPIC,
    resourceName: "orders-",
    resourcePatternType: PatternType.PREFIXED,
    principal: "User:alice",
    host: "*",
    operation: Op.READ,
    permissionType: Perm.ALLOW,
    ...fields,
  };
}

function storeWith(acls: AclCreation[], options = {}): AclStore {
  const libc = memoryLibc({ seed: 7 });
  libc.mkdirp("/data");
  const store = AclStore.open(libc, "/data", options);
  store.create(acls);
  return store;
}

function ctxOf(
  acls: AclStore | undefined,
  principal: string,
  remoteAddress = "10.0.0.1:5555",
): AuthorizationContext & { connection: { principal: string } } {
  return { broker: { acls }, connection: { principal, socket: { remoteAddress } } };
}

Deno.test("authorize() allows everything when no authorizer is configured", () => {
  const ctx = ctxOf(undefined, "User:ANONYMOUS");
  assert(authorize(ctx, Op.DELETE, ResourceType.TOPIC, "anything"));
  assert(authorizeIdempotentWrite(ctx));
  assertEquals(refusedTopics(ctx, Op.READ, ["a", "b"], (n) => n), undefined);
  assertEquals(refusedFetchTopics(ctx, 1, ["a"], (n) => n), undefined);
  assertEquals(authorizedOperations(ctx, ResourceType.GROUP, "g"), (1 << 3) | (1 << 6) | (1 << 8));
});

Deno.test("authorize() checks the connection's principal and host against the ACLs", () => {
  const store = storeWith([
    acl({}),
    acl({
      resourceName: "orders-secret",
      resourcePatternType: PatternType.LITERAL,
      permissionType: Perm.DENY,
    }),
    acl({ principal: "User:bob", host: "10.0.0.9", operation: Op.WRITE }),
  ]);
  const alice = ctxOf(store, "User:alice");
  assert(authorize(alice, Op.READ, ResourceType.TOPIC, "orders-eu"));
  assert(authorize(alice, Op.DESCRIBE, ResourceType.TOPIC, "orders-eu"), "READ implies DESCRIBE");
  assert(!authorize(alice, Op.WRITE, ResourceType.TOPIC, "orders-eu"));
  assert(!authorize(alice, Op.READ, ResourceType.TOPIC, "orders-secret"), "DENY beats ALLOW");
  assert(!authorize(alice, Op.READ, ResourceType.TOPIC, "payments"));
  const bobThere = ctxOf(store, "User:bob", "10.0.0.9:4000");
  const bobElsewhere = ctxOf(store, "User:bob", "10.0.0.8:4000");
  assert(authorize(bobThere, Op.WRITE, ResourceType.TOPIC, "orders-eu"));
  assert(!authorize(bobElsewhere, Op.WRITE, ResourceType.TOPIC, "orders-eu"));
});

Deno.test("sessionOf() follows a principal change on the same connection", () => {
  const store = storeWith([acl({})]);
  const ctx = ctxOf(store, "User:ANONYMOUS");
  assert(!authorize(ctx, Op.READ, ResourceType.TOPIC, "orders-eu"));
  ctx.connection.principal = "User:alice"; // SASL authenticated the connection
  assertEquals(sessionOf(ctx).principal, "User:alice");
  assert(authorize(ctx, Op.READ, ResourceType.TOPIC, "orders-eu"));
});

Deno.test("hostOf() drops the port of IPv4, IPv6 and IPv4-mapped addresses", () => {
  assertEquals(hostOf("127.0.0.1:9092"), "127.0.0.1");
  assertEquals(hostOf("::1:50000"), "::1");
  assertEquals(hostOf("[::1]:50000"), "::1");
  assertEquals(hostOf("::ffff:10.1.2.3:50000"), "10.1.2.3");
});

Deno.test("super users are allowed everything, also against a DENY", () => {
  const store = storeWith(
    [acl({ principal: "User:*", operation: Op.ALL, permissionType: Perm.DENY })],
    { superUsers: ["User:admin"] },
  );
  assert(authorize(ctxOf(store, "User:admin"), Op.DELETE, ResourceType.TOPIC, "orders-eu"));
  assert(authorizeIdempotentWrite(ctxOf(store, "User:admin")));
  assert(!authorize(ctxOf(store, "User:alice"), Op.READ, ResourceType.TOPIC, "orders-eu"));
});

Deno.test("refusedTopics() names each refused topic once, and nothing when all are allowed", () => {
  const store = storeWith([acl({})]);
  const alice = ctxOf(store, "User:alice");
  const names = ["orders-a", "payments", "orders-b", "payments", ""];
  assertEquals([...refusedTopics(alice, Op.READ, names, (n) => n)!], ["payments"]);
  assertEquals(refusedTopics(alice, Op.READ, ["orders-a"], (n) => n), undefined);
});

Deno.test("refusedFetchTopics() wants CLUSTER_ACTION of a follower, READ of a consumer", () => {
  const store = storeWith([
    acl({}),
    acl({
      principal: "User:broker1",
      resourceType: ResourceType.CLUSTER,
      resourceName: "kafka-cluster",
      resourcePatternType: PatternType.LITERAL,
      operation: Op.CLUSTER_ACTION,
    }),
  ]);
  const alice = ctxOf(store, "User:alice"), follower = ctxOf(store, "User:broker1");
  const names = ["orders-a", "payments"];
  assertEquals([...refusedFetchTopics(alice, -1, names, (n) => n)!], ["payments"]);
  assertEquals([...refusedFetchTopics(alice, 1, names, (n) => n)!], names);
  assertEquals(refusedFetchTopics(follower, 1, names, (n) => n), undefined);
});

Deno.test("refusedLeaderEpochTopics() takes CLUSTER_ACTION for all, else DESCRIBE per topic", () => {
  const store = storeWith([
    acl({}),
    acl({
      principal: "User:broker1",
      resourceType: ResourceType.CLUSTER,
      resourceName: "kafka-cluster",
      resourcePatternType: PatternType.LITERAL,
      operation: Op.CLUSTER_ACTION,
    }),
  ]);
  const names = ["orders-a", "payments"];
  const alice = ctxOf(store, "User:alice"), follower = ctxOf(store, "User:broker1");
  assertEquals([...refusedLeaderEpochTopics(alice, names, (n) => n)!], ["payments"]);
  assertEquals(refusedLeaderEpochTopics(follower, names, (n) => n), undefined);
  assertEquals(refusedLeaderEpochTopics(ctxOf(undefined, "User:x"), names, (n) => n), undefined);
});

Deno.test("mergeRefused() puts refused answers back in request order", () => {
  const items = ["a", "x", "b", "y"];
  const refused = new Set(["x", "y"]);
  const merged = mergeRefused(items, refused, (n) => n, ["A", "B"], (n) => `refused ${n}`);
  assertEquals(merged, ["A", "refused x", "B", "refused y"]);
  assertEquals(mergeRefused(items, undefined, (n) => n, ["1", "2"], () => "never"), ["1", "2"]);
});

Deno.test("authorizeTopicCreation() takes CREATE on the CLUSTER or on the topic", () => {
  const store = storeWith([
    acl({ operation: Op.CREATE }),
    acl({
      principal: "User:ops",
      resourceType: ResourceType.CLUSTER,
      resourceName: "kafka-cluster",
      resourcePatternType: PatternType.LITERAL,
      operation: Op.CREATE,
    }),
  ]);
  assert(authorizeTopicCreation(ctxOf(store, "User:alice"), "orders-new"));
  assert(!authorizeTopicCreation(ctxOf(store, "User:alice"), "payments"));
  assert(authorizeTopicCreation(ctxOf(store, "User:ops"), "payments"));
});

Deno.test("authorizeByResourceType() follows Kafka: a DENY dominates only what it covers", () => {
  const write = (fields: Partial<AclCreation>) => acl({ operation: Op.WRITE, ...fields });
  const cases: [AclCreation[], boolean][] = [
    [[], false],
    [[write({})], true],
    [[write({}), write({ permissionType: Perm.DENY, resourceName: "orders" })], false],
    [[write({}), write({ permissionType: Perm.DENY, resourceName: "order-" })], true],
    [[
      write({ resourcePatternType: PatternType.LITERAL, resourceName: "a" }),
      write({
        resourcePatternType: PatternType.LITERAL,
        resourceName: "a",
        permissionType: Perm.DENY,
      }),
    ], false],
    [[
      write({}),
      write({
        resourcePatternType: PatternType.LITERAL,
        resourceName: "*",
        permissionType: Perm.DENY,
      }),
    ], false],
    [[write({ resourcePatternType: PatternType.LITERAL, resourceName: "*" })], true],
    [[acl({ operation: Op.ALL })], true],
    [[acl({})], false], // READ does not count for WRITE
    [[write({ principal: "User:bob" })], false],
  ];
  for (const [acls, expected] of cases) {
    const ctx = ctxOf(storeWith(acls), "User:alice");
    assertEquals(
      authorizeByResourceType(ctx, Op.WRITE, ResourceType.TOPIC),
      expected,
      JSON.stringify(acls),
    );
  }
});

Deno.test("authorizeIdempotentWrite() takes IDEMPOTENT_WRITE on the CLUSTER or WRITE on a topic", () => {
  const idempotent = acl({
    resourceType: ResourceType.CLUSTER,
    resourceName: "kafka-cluster",
    resourcePatternType: PatternType.LITERAL,
    operation: Op.IDEMPOTENT_WRITE,
  });
  assert(authorizeIdempotentWrite(ctxOf(storeWith([idempotent]), "User:alice")));
  assert(authorizeIdempotentWrite(ctxOf(storeWith([acl({ operation: Op.WRITE })]), "User:alice")));
  assert(!authorizeIdempotentWrite(ctxOf(storeWith([acl({})]), "User:alice")));
});

Deno.test("authorizedOperations() reports the allowed operations as Kafka's bit field", () => {
  const store = storeWith([acl({ resourceType: ResourceType.GROUP, resourceName: "g" })]);
  const bits = authorizedOperations(ctxOf(store, "User:alice"), ResourceType.GROUP, "g1");
  assertEquals(bits, (1 << Op.READ) | (1 << Op.DESCRIBE));
  assertEquals(authorizedOperations(ctxOf(store, "User:bob"), ResourceType.GROUP, "g1"), 0);
});

Deno.test("transactionalRequestRefusal() checks the transactional id, then the group", () => {
  const store = storeWith([
    acl({
      resourceType: ResourceType.TRANSACTIONAL_ID,
      resourceName: "tx-",
      operation: Op.WRITE,
    }),
    acl({ resourceType: ResourceType.GROUP, resourceName: "g", operation: Op.READ }),
  ]);
  const alice = ctxOf(store, "User:alice");
  assertEquals(transactionalRequestRefusal(alice, "tx-1"), ErrorCode.NONE);
  assertEquals(transactionalRequestRefusal(alice, "tx-1", "g1"), ErrorCode.NONE);
  assertEquals(
    transactionalRequestRefusal(alice, "other", "g1"),
    ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  );
  assertEquals(
    transactionalRequestRefusal(alice, "tx-1", "h1"),
    ErrorCode.GROUP_AUTHORIZATION_FAILED,
  );
});

Deno.test("authorize() logs a denial as Kafka's authorizer does; authorizeQuietly() and filters do not", () => {
  const store = storeWith([acl({})]);
  const logged: string[] = [];
  const ctx = {
    broker: { acls: store, logLimiter: { info: (_kind: string, m: string) => logged.push(m) } },
    connection: { principal: "User:alice", socket: { remoteAddress: "10.0.0.1:5555" } },
  };
  assert(authorize(ctx, Op.READ, ResourceType.TOPIC, "orders-a"));
  assertEquals(logged, []);
  assert(!authorize(ctx, Op.WRITE, ResourceType.TOPIC, "orders-a"));
  assertEquals(logged, [
    "Principal = User:alice is Denied Operation = WRITE from host = 10.0.0.1 on resource = TOPIC:orders-a",
  ]);
  assert(!authorizeQuietly(ctx, Op.WRITE, ResourceType.TOPIC, "orders-a"));
  authorizedOperations(ctx, ResourceType.TOPIC, "orders-a");
  authorizeTopicCreation(ctx, "orders-new"); // the CLUSTER alternative is a question
  assertEquals(logged.length, 2, "only the topic CREATE denial is logged");
});
