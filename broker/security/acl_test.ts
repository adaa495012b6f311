import { assertEquals } from "../../util/assert.ts";
import {
  AclAuthorizer,
  type AclBinding,
  type AclBindingFilter,
  aclCreationProblem,
  aclFilterMatches,
  AclOperation as Op,
  AclPermissionType as Perm,
  parseSuperUsers,
  PatternType,
  ResourceType,
} from "./acl.ts";

const alice = { principal: "User:alice", host: "10.0.0.1" };
const bob = { principal: "User:bob", host: "10.0.0.2" };
const topic = (name: string) => ({ resourceType: ResourceType.TOPIC, name });

function acl(fields: Partial<AclBinding>): AclBinding {
  return {
    resourceType: ResourceType.TOPIC,
    resourceName: "orders",
    patternType: PatternType.LITERAL,
    principal: "User:alice",
    host: "*",
    operation: Op.READ,
    permissionType: Perm.ALLOW,
    ...fields,
  };
}

function authorizerWith(acls: AclBinding[], options = {}) {
  const a = new AclAuthorizer(options);
  for (const x of acls) a.add(x);
  return a;
}

Deno.test("AclAuthorizer allows what an ALLOW grants, with Kafka's implied operations", () => {
  const a = authorizerWith([acl({ operation: Op.READ }), acl({ operation: Op.ALTER_CONFIGS })]);
  assertEquals(a.authorize(alice, Op.READ, topic("orders")), true);
  assertEquals(a.authorize(alice, Op.DESCRIBE, topic("orders")), true);
  assertEquals(a.authorize(alice, Op.DESCRIBE_CONFIGS, topic("orders")), true);
  assertEquals(a.authorize(alice, Op.WRITE, topic("orders")), false);
  assertEquals(a.authorize(alice, Op.DELETE, topic("orders")), false);
  assertEquals(a.authorize(bob, Op.READ, topic("orders")), false);
  for (const granted of [Op.WRITE, Op.DELETE, Op.ALTER]) {
    const b = authorizerWith([acl({ operation: granted })]);
    assertEquals(b.authorize(alice, Op.DESCRIBE, topic("orders")), true, `${granted}`);
  }
  const c = authorizerWith([acl({ operation: Op.CREATE })]);
  assertEquals(c.authorize(alice, Op.DESCRIBE, topic("orders")), false);
  const all = authorizerWith([acl({ operation: Op.ALL })]);
  for (
    const op of [
      Op.READ,
      Op.WRITE,
      Op.CREATE,
      Op.DELETE,
      Op.ALTER,
      Op.DESCRIBE,
      Op.DESCRIBE_CONFIGS,
    ]
  ) {
    assertEquals(all.authorize(alice, op, topic("orders")), true, `${op}`);
  }
});

Deno.test("AclAuthorizer lets a DENY win over any ALLOW", () => {
  const a = authorizerWith([
    acl({ resourceName: "*", operation: Op.ALL }),
    acl({
      resourceName: "ord",
      patternType: PatternType.PREFIXED,
      operation: Op.WRITE,
      permissionType: Perm.DENY,
    }),
  ]);
  assertEquals(a.authorize(alice, Op.WRITE, topic("orders")), false);
  assertEquals(a.authorize(alice, Op.READ, topic("orders")), true);
  assertEquals(a.authorize(alice, Op.WRITE, topic("payments")), true);
  // A DENY of READ does not deny the DESCRIBE that READ implies.
  const b = authorizerWith([acl({ operation: Op.ALL }), acl({ permissionType: Perm.DENY })]);
  assertEquals(b.authorize(alice, Op.READ, topic("orders")), false);
  assertEquals(b.authorize(alice, Op.DESCRIBE, topic("orders")), true);
  const c = authorizerWith([
    acl({ operation: Op.READ }),
    acl({ operation: Op.ALL, permissionType: Perm.DENY }),
  ]);
  assertEquals(c.authorize(alice, Op.DESCRIBE, topic("orders")), false);
});

Deno.test("AclAuthorizer matches literal, wildcard and prefixed patterns", () => {
  const a = authorizerWith([
    acl({ resourceName: "logs-", patternType: PatternType.PREFIXED }),
    acl({ resourceName: "l", patternType: PatternType.PREFIXED, principal: "User:bob" }),
    acl({ resourceName: "*", principal: "User:carol" }),
  ]);
  assertEquals(a.authorize(alice, Op.READ, topic("logs-app")), true);
  assertEquals(a.authorize(alice, Op.READ, topic("logs-")), true);
  assertEquals(a.authorize(alice, Op.READ, topic("logs")), false);
  assertEquals(a.authorize(bob, Op.READ, topic("logs")), true);
  assertEquals(
    a.authorize({ principal: "User:carol", host: "h" }, Op.READ, topic("anything")),
    true,
  );
  // A prefixed "*" is a literal prefix, not a wildcard.
  const b = authorizerWith([acl({ resourceName: "*", patternType: PatternType.PREFIXED })]);
  assertEquals(b.authorize(alice, Op.READ, topic("orders")), false);
  assertEquals(b.authorize(alice, Op.READ, topic("*x")), true);
});

Deno.test("AclAuthorizer matches principals (User:*) and hosts", () => {
  const a = authorizerWith([acl({ principal: "User:*", host: "10.0.0.1" })]);
  assertEquals(a.authorize(alice, Op.READ, topic("orders")), true);
  assertEquals(
    a.authorize({ principal: "User:zed", host: "10.0.0.1" }, Op.READ, topic("orders")),
    true,
  );
  assertEquals(a.authorize(bob, Op.READ, topic("orders")), false);
  assertEquals(a.authorize({ ...alice, host: "::ffff:10.0.0.1" }, Op.READ, topic("orders")), true);
});

Deno.test("AclAuthorizer keeps resource types apart", () => {
  const a = authorizerWith([acl({ resourceType: ResourceType.GROUP, resourceName: "orders" })]);
  assertEquals(
    a.authorize(alice, Op.READ, { resourceType: ResourceType.GROUP, name: "orders" }),
    true,
  );
  assertEquals(a.authorize(alice, Op.READ, topic("orders")), false);
});

Deno.test("AclAuthorizer: super users, and allow.everyone.if.no.acl.found", () => {
  const acls = [acl({ principal: "User:bob" })];
  const strict = authorizerWith(acls, { superUsers: parseSuperUsers("User:admin; User:ops") });
  const admin = { principal: "User:admin", host: "1.2.3.4" };
  assertEquals(
    strict.authorize(admin, Op.ALTER, {
      resourceType: ResourceType.CLUSTER,
      name: "kafka-cluster",
    }),
    true,
  );
  assertEquals(strict.authorize({ ...admin, principal: "User:ops" }, Op.DELETE, topic("x")), true);
  assertEquals(strict.authorize(alice, Op.READ, topic("no-acls")), false);
  const open = authorizerWith(acls, { allowEveryoneIfNoAclFound: true });
  assertEquals(open.authorize(alice, Op.READ, topic("no-acls")), true);
  // An ACL on the resource for someone else means "found": alice is refused.
  assertEquals(open.authorize(alice, Op.READ, topic("orders")), false);
  assertEquals(
    open.authorize(alice, Op.READ, { resourceType: ResourceType.GROUP, name: "g" }),
    true,
  );
});

Deno.test("AclAuthorizer.remove() takes an ACL out of every index", () => {
  const prefixed = acl({ resourceName: "a", patternType: PatternType.PREFIXED });
  const literal = acl({});
  const a = authorizerWith([
    prefixed,
    literal,
    acl({ resourceName: "b", patternType: PatternType.PREFIXED }),
  ]);
  assertEquals(a.authorize(alice, Op.READ, topic("abc")), true);
  a.remove(prefixed);
  assertEquals(a.authorize(alice, Op.READ, topic("abc")), false);
  assertEquals(a.authorize(alice, Op.READ, topic("bcd")), true);
  a.remove(literal);
  assertEquals(a.authorize(alice, Op.READ, topic("orders")), false);
});

Deno.test("AclAuthorizer answers right over 20000 ACLs", () => {
  const acls: AclBinding[] = [];
  for (let i = 0; i < 10_000; i++) {
    acls.push(
      acl({
        resourceName: `team-${i}.`,
        patternType: PatternType.PREFIXED,
        principal: `User:u${i}`,
      }),
    );
    acls.push(acl({ resourceName: `topic-${i}`, principal: `User:u${i}`, operation: Op.WRITE }));
  }
  acls.push(
    acl({
      resourceName: "team-7",
      patternType: PatternType.PREFIXED,
      principal: "User:u7",
      permissionType: Perm.DENY,
    }),
  );
  const a = authorizerWith(acls);
  const u = (i: number) => ({ principal: `User:u${i}`, host: "h" });
  assertEquals(a.authorize(u(42), Op.READ, topic("team-42.events")), true);
  assertEquals(a.authorize(u(42), Op.READ, topic("team-43.events")), false);
  assertEquals(a.authorize(u(9999), Op.WRITE, topic("topic-9999")), true);
  assertEquals(a.authorize(u(9999), Op.DESCRIBE, topic("topic-9999")), true);
  assertEquals(a.authorize(u(9998), Op.WRITE, topic("topic-9999")), false);
  assertEquals(a.authorize(u(7), Op.READ, topic("team-7.x")), false);
  assertEquals(a.authorize(u(70), Op.READ, topic("team-70.x")), true);
});

Deno.test("aclCreationProblem() refuses what Kafka refuses, with its texts", () => {
  const cases: [Partial<AclBinding>, string][] = [
    [
      { resourceType: ResourceType.CLUSTER, resourceName: "c" },
      "The only valid name for the CLUSTER resource is kafka-cluster",
    ],
    [{ resourceName: "" }, "Invalid empty resource name"],
    [{ resourceType: ResourceType.ANY }, "Invalid resourceType ANY"],
    [{ resourceType: 99 }, "Invalid resourceType UNKNOWN"],
    [{ patternType: PatternType.MATCH }, "Invalid patternType MATCH"],
    [{ operation: Op.ANY }, "Invalid operation ANY"],
    [{ permissionType: Perm.ANY }, "Invalid permissionType ANY"],
    [
      { principal: "alice" },
      "Could not parse principal from `alice` (no colon is present separating the principal type from the principal name)",
    ],
  ];
  for (const [fields, message] of cases) assertEquals(aclCreationProblem(acl(fields)), message);
  assertEquals(
    aclCreationProblem(acl({ resourceType: ResourceType.CLUSTER, resourceName: "kafka-cluster" })),
    undefined,
  );
});

Deno.test("aclFilterMatches() follows Kafka's MATCH, ANY and exact pattern filters", () => {
  const filter = (f: Partial<AclBindingFilter>): AclBindingFilter => ({
    resourceTypeFilter: ResourceType.ANY,
    resourceNameFilter: null,
    patternTypeFilter: PatternType.ANY,
    principalFilter: null,
    hostFilter: null,
    operation: Op.ANY,
    permissionType: Perm.ANY,
    ...f,
  });
  const literal = acl({ resourceName: "orders" });
  const wildcard = acl({ resourceName: "*" });
  const prefixed = acl({ resourceName: "ord", patternType: PatternType.PREFIXED });
  const names = (f: AclBindingFilter) =>
    [literal, wildcard, prefixed].filter((x) => aclFilterMatches(f, x)).map((x) => x.resourceName);
  assertEquals(names(filter({})), ["orders", "*", "ord"]);
  assertEquals(
    names(filter({ resourceNameFilter: "orders", patternTypeFilter: PatternType.MATCH })),
    ["orders", "*", "ord"],
  );
  assertEquals(names(filter({ resourceNameFilter: "orders" })), ["orders"]);
  assertEquals(
    names(filter({ resourceNameFilter: "ord", patternTypeFilter: PatternType.PREFIXED })),
    ["ord"],
  );
  assertEquals(names(filter({ patternTypeFilter: PatternType.LITERAL })), ["orders", "*"]);
  assertEquals(names(filter({ resourceTypeFilter: ResourceType.GROUP })), []);
  assertEquals(names(filter({ principalFilter: "User:bob" })), []);
  assertEquals(names(filter({ hostFilter: "*", operation: Op.READ, permissionType: Perm.ALLOW })), [
    "orders",
    "*",
    "ord",
  ]);
  assertEquals(names(filter({ permissionType: Perm.DENY })), []);
});
