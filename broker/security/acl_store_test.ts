import { memoryLibc } from "../../ffi/memory.ts";
import type { Libc } from "../../ffi/port.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { assertEquals, assertThrows } from "../../util/assert.ts";
import {
  type AclBindingFilter,
  AclOperation as Op,
  AclPermissionType as Perm,
  PatternType,
  ResourceType,
} from "./acl.ts";
import { ACL_FILE_NAME, type AclCreation, AclStore } from "./acl_store.ts";

function open(libc: Libc = memoryLibc({ seed: 1 }), options = {}) {
  libc.mkdirp("/data");
  return { libc, store: AclStore.open(libc, "/data", options) };
}

function creation(fields: Partial<AclCreation> = {}): AclCreation {
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

const ANY_FILTER: AclBindingFilter = {
  resourceTypeFilter: ResourceType.ANY,
  resourceNameFilter: null,
  patternTypeFilter: PatternType.ANY,
  principalFilter: null,
  hostFilter: null,
  operation: Op.ANY,
  permissionType: Perm.ANY,
};

const alice = { principal: "User:alice", host: "127.0.0.1" };
const topic = (name: string) => ({ resourceType: ResourceType.TOPIC, name });

Deno.test("AclStore.create() applies valid creations, refuses invalid ones, persists", () => {
  const { libc, store } = open();
  const results = store.create([
    creation(),
    creation({ resourceName: "" }),
    creation({ operation: Op.WRITE, permissionType: Perm.DENY }),
    creation(), // the same ACL again: a success, stored once
  ]);
  assertEquals(results, [
    { errorCode: 0, errorMessage: null },
    { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: "Invalid empty resource name" },
    { errorCode: 0, errorMessage: null },
    { errorCode: 0, errorMessage: null },
  ]);
  assertEquals(store.size, 2);
  const again = open(libc).store;
  assertEquals(again.size, 2);
  assertEquals(again.authorize(alice, Op.READ, topic("orders-eu")), true);
  assertEquals(again.authorize(alice, Op.WRITE, topic("orders-eu")), false);
  assertEquals(again.authorize(alice, Op.CREATE, topic("orders-eu")), false);
  assertEquals(again.authorize(alice, Op.READ, topic("payments")), false);
});

Deno.test("AclStore.describe() groups the matching ACLs by resource pattern", () => {
  const { store } = open();
  store.create([
    creation(),
    creation({ principal: "User:bob", operation: Op.WRITE }),
    creation({ resourceName: "*", resourcePatternType: PatternType.LITERAL }),
    creation({
      resourceType: ResourceType.GROUP,
      resourceName: "g",
      resourcePatternType: PatternType.LITERAL,
    }),
  ]);
  const all = store.describe(ANY_FILTER);
  assertEquals(all.errorCode, 0);
  assertEquals(
    all.resources.map((r) => [r.resourceType, r.resourceName, r.patternType, r.acls.length]),
    [
      [ResourceType.TOPIC, "orders-", PatternType.PREFIXED, 2],
      [ResourceType.TOPIC, "*", PatternType.LITERAL, 1],
      [ResourceType.GROUP, "g", PatternType.LITERAL, 1],
    ],
  );
  assertEquals(all.resources[0].acls[1], {
    principal: "User:bob",
    host: "*",
    operation: Op.WRITE,
    permissionType: Perm.ALLOW,
  });
  const match = store.describe({
    ...ANY_FILTER,
    resourceTypeFilter: ResourceType.TOPIC,
    resourceNameFilter: "orders-us",
    patternTypeFilter: PatternType.MATCH,
    principalFilter: "User:alice",
  });
  assertEquals(match.resources.map((r) => r.resourceName), ["orders-", "*"]);
  const bad = store.describe({ ...ANY_FILTER, operation: Op.UNKNOWN });
  assertEquals([bad.errorCode, bad.errorMessage], [
    ErrorCode.INVALID_REQUEST,
    "Unknown entryFilter.",
  ]);
  const badPattern = store.describe({ ...ANY_FILTER, patternTypeFilter: 9 });
  assertEquals(badPattern.errorMessage, "Unknown patternFilter.");
});

Deno.test("AclStore.delete() answers per filter and updates the authorizer and the file", () => {
  const { libc, store } = open();
  store.create([
    creation(),
    creation({ principal: "User:bob" }),
    creation({ resourceName: "x", resourcePatternType: 3 }),
  ]);
  const results = store.delete([
    { ...ANY_FILTER, principalFilter: "User:alice" },
    { ...ANY_FILTER, resourceNameFilter: "orders-", patternTypeFilter: PatternType.PREFIXED },
    { ...ANY_FILTER, permissionType: Perm.UNKNOWN },
  ]);
  assertEquals(results[0].matchingAcls.map((a) => [a.principal, a.resourceName]), [[
    "User:alice",
    "orders-",
  ], ["User:alice", "x"]]);
  assertEquals(results[1].matchingAcls.map((a) => [a.principal, a.resourceName]), [[
    "User:alice",
    "orders-",
  ], ["User:bob", "orders-"]]);
  assertEquals(results[1].matchingAcls[0].errorCode, 0);
  assertEquals(results[1].matchingAcls[0].patternType, PatternType.PREFIXED);
  assertEquals([results[2].errorCode, results[2].errorMessage], [
    ErrorCode.INVALID_REQUEST,
    "Unknown entryFilter.",
  ]);
  assertEquals(store.size, 0);
  assertEquals(store.authorize(alice, Op.READ, topic("orders-eu")), false);
  assertEquals(open(libc).store.size, 0);
});

Deno.test("AclStore changes nothing when the save fails", () => {
  const libc = memoryLibc({ seed: 3 });
  const { store } = open(libc);
  store.create([creation()]);
  libc.addFault({ syscall: "writeFileAtomic", errno: 28 });
  assertThrows(() => store.create([creation({ principal: "User:bob" })]), /ENOSPC/);
  assertThrows(() => store.delete([ANY_FILTER]), /ENOSPC/);
  assertEquals(store.size, 1);
  assertEquals(store.authorize(alice, Op.READ, topic("orders-1")), true);
  assertEquals(
    store.authorize({ ...alice, principal: "User:bob" }, Op.READ, topic("orders-1")),
    false,
  );
});

Deno.test("AclStore passes super users and allow.everyone.if.no.acl.found to its authorizer", () => {
  const { store } = open(memoryLibc({ seed: 1 }), {
    superUsers: ["User:admin"],
    allowEveryoneIfNoAclFound: true,
  });
  store.create([creation()]);
  assertEquals(
    store.authorize({ principal: "User:admin", host: "h" }, Op.DELETE, topic("orders-1")),
    true,
  );
  assertEquals(
    store.authorize({ principal: "User:bob", host: "h" }, Op.READ, topic("orders-1")),
    false,
  );
  assertEquals(store.authorize({ principal: "User:bob", host: "h" }, Op.READ, topic("free")), true);
});

Deno.test("AclStore.open() refuses a file with an invalid ACL, naming the file", () => {
  const { libc } = open();
  const bad = { version: 1, acls: [{ ...creation(), patternType: PatternType.MATCH }] };
  libc.writeFileAtomic(`/data/${ACL_FILE_NAME}`, new TextEncoder().encode(JSON.stringify(bad)));
  assertThrows(
    () => AclStore.open(libc, "/data"),
    /Invalid ACL in "\/data\/denka-acls.json": Invalid patternType MATCH/,
  );
});
