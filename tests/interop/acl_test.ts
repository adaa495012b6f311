/**
 * ACLs end to end, with real clients over real sockets: kafkajs' admin API
 * manages them (CreateAcls, DescribeAcls, DeleteAcls); kafkajs and kcat
 * then act as principals. The last test logs in for real (SASL/SCRAM on a
 * SASL_PLAINTEXT listener); the others give each client its principal from
 * its client id through a test-only runtime wrapper (`principals.ts`),
 * which sets the broker's own `Connection.principal`, the field
 * authentication sets, so that many principals need no credentials.
 *
 * Raw requests cover the SCRAM credential APIs and SECURITY_DISABLED.
 */
import {
  AclOperationTypes as Op,
  AclPermissionTypes as Perm,
  AclResourceTypes as Resource,
  type Admin,
  type Consumer,
  Kafka,
  logLevel,
  Partitioners,
  ResourcePatternTypes as Pattern,
} from "kafkajs";
import { type BrokerHandle, startBroker, type StartBrokerOptions } from "../../mod.ts";
import { assert, assertEquals, assertRejects } from "../../util/assert.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import {
  alterUserScramCredentialsApi,
  apiVersionsApi,
  createAclsApi,
  describeAclsApi,
  describeUserScramCredentialsApi,
  findCoordinatorApi,
  offsetFetchApi,
} from "../../protocol/messages/mod.ts";
import { ACL_FILE_NAME } from "../../broker/security/acl_store.ts";
import { SCRAM_CREDENTIALS_FILE_NAME } from "../../broker/security/credentials.ts";
import { kcatConsume, kcatProduce } from "./kcat.ts";
import { makeDataDir } from "./harness.ts";
import { principalsByClientId } from "./principals.ts";
import { withSaslBroker } from "./sasl_broker.ts";
import { RawConnection } from "./raw_client.ts";
import { SubprocessError } from "./harness.ts";

const WAIT_MS = 30_000;
const PRINCIPALS = {
  "admin-client": "User:admin",
  "alice-client": "User:alice",
  "alice-kcat": "User:alice",
  "bob-client": "User:bob",
  "bob-kcat": "User:bob",
};

async function withAclBroker(
  options: StartBrokerOptions,
  fn: (broker: BrokerHandle, dataDir: string) => Promise<void>,
): Promise<void> {
  const dataDir = await makeDataDir();
  try {
    const broker = await startBroker({
      port: 0,
      dataDir,
      logLevel: "error",
      runtime: principalsByClientId(PRINCIPALS),
      ...options,
    });
    try {
      await fn(broker, dataDir);
    } finally {
      await broker.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}

const ACL_BROKER: StartBrokerOptions = { authorizer: "acl", superUsers: ["User:admin"] };

function kafka(broker: BrokerHandle, clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 2, initialRetryTime: 100 },
  });
}

async function withAdmin(
  broker: BrokerHandle,
  clientId: string,
  fn: (admin: Admin) => Promise<void>,
): Promise<void> {
  const admin = kafka(broker, clientId).admin();
  await admin.connect();
  try {
    await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

async function produce(
  broker: BrokerHandle,
  clientId: string,
  topic: string,
  values: string[],
  options: { idempotent?: boolean } = {},
): Promise<void> {
  const producer = kafka(broker, clientId).producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: options.idempotent ?? false,
    maxInFlightRequests: options.idempotent ? 1 : undefined,
  });
  await producer.connect();
  try {
    await producer.send({ topic, messages: values.map((value) => ({ value })) });
  } finally {
    await producer.disconnect();
  }
}

/** Consumes `count` values from the start of `topic` in group `groupId`, or fails after WAIT_MS. */
async function consumeInGroup(
  broker: BrokerHandle,
  clientId: string,
  options: { topic: string; groupId: string; count: number },
): Promise<string[]> {
  const consumer: Consumer = kafka(broker, clientId).consumer({
    groupId: options.groupId,
    maxWaitTimeInMs: 100,
  });
  const values: string[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: options.topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error("Timed out consuming")), WAIT_MS);
      consumer.on(consumer.events.CRASH, (e) => reject(e.payload.error));
      consumer.run({
        eachMessage: ({ message }) => {
          values.push(message.value?.toString() ?? "");
          if (values.length === options.count) resolve();
          return Promise.resolve();
        },
      }).catch(reject);
    });
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
  return values;
}

/** Kafka error types (`TOPIC_AUTHORIZATION_FAILED`, ...) in a kafkajs error and the errors it wraps. */
function errorTypes(e: unknown, out: string[] = []): string[] {
  if (typeof e !== "object" || e === null) return out;
  const error = e as {
    type?: unknown;
    errors?: unknown[];
    cause?: unknown;
    originalError?: unknown;
  };
  if (typeof error.type === "string") out.push(error.type);
  for (const inner of error.errors ?? []) errorTypes(inner, out);
  errorTypes(error.cause, out);
  errorTypes(error.originalError, out);
  return out;
}

/** Runs `fn`, which must fail with the Kafka error `type`. */
async function rejectsWith(what: string, type: string, fn: () => Promise<unknown>): Promise<void> {
  let error: unknown = undefined;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  assert(error !== undefined, `${what} was allowed`);
  const types = errorTypes(error);
  assert(types.includes(type), `${what}: expected ${type}, got [${types}] (${error})`);
}

async function fileMode(path: string): Promise<number> {
  return (await Deno.stat(path)).mode! & 0o777;
}

Deno.test("ACLs: READ on a topic prefix consumes but cannot produce, create or delete; kafkajs manages the ACLs", async () => {
  await withAclBroker(ACL_BROKER, async (broker, dataDir) => {
    await withAdmin(broker, "admin-client", async (admin) => {
      await admin.createTopics({ topics: [{ topic: "orders-a" }, { topic: "secret-1" }] });
      await admin.createAcls({
        acl: [
          {
            resourceType: Resource.TOPIC,
            resourceName: "orders-",
            resourcePatternType: Pattern.PREFIXED,
            principal: "User:alice",
            host: "*",
            operation: Op.READ,
            permissionType: Perm.ALLOW,
          },
          {
            resourceType: Resource.GROUP,
            resourceName: "alice-group",
            resourcePatternType: Pattern.LITERAL,
            principal: "User:alice",
            host: "*",
            operation: Op.READ,
            permissionType: Perm.ALLOW,
          },
        ],
      });
      const described = await admin.describeAcls({
        resourceType: Resource.ANY,
        resourcePatternType: Pattern.ANY,
        operation: Op.ANY,
        permissionType: Perm.ANY,
      });
      assertEquals(
        described.resources.map((r) =>
          `${r.resourceType}:${r.resourcePatternType}:${r.resourceName}`
        )
          .sort(),
        ["2:4:orders-", "3:3:alice-group"],
      );
    });
    assertEquals(await fileMode(`${dataDir}/${ACL_FILE_NAME}`), 0o600);
    await produce(broker, "admin-client", "orders-a", ["a1", "a2", "a3"]);

    // alice consumes through her group, and with kcat (no group).
    const consumed = await consumeInGroup(broker, "alice-client", {
      topic: "orders-a",
      groupId: "alice-group",
      count: 3,
    });
    assertEquals(consumed, ["a1", "a2", "a3"]);
    const viaKcat = await kcatConsume(broker.bootstrap, {
      topic: "orders-a",
      config: { "client.id": "alice-kcat" },
    });
    assertEquals(viaKcat.map((m) => m.value), ["a1", "a2", "a3"]);

    // ... but cannot produce, create, delete, or see other topics.
    await rejectsWith(
      "alice's produce",
      "TOPIC_AUTHORIZATION_FAILED",
      () => produce(broker, "alice-client", "orders-a", ["x"]),
    );
    await assertRejects(() =>
      kcatProduce(broker.bootstrap, [{ key: null, value: "x" }], {
        topic: "orders-a",
        config: { "client.id": "alice-kcat", "message.timeout.ms": "5000" },
      }), SubprocessError);
    await withAdmin(broker, "alice-client", async (admin) => {
      await rejectsWith(
        "alice's CreateTopics",
        "TOPIC_AUTHORIZATION_FAILED",
        () => admin.createTopics({ topics: [{ topic: "orders-new" }] }),
      );
      await rejectsWith(
        "alice's DeleteTopics",
        "TOPIC_AUTHORIZATION_FAILED",
        () => admin.deleteTopics({ topics: ["orders-a"], timeout: 2000 }),
      );
      assertEquals(await admin.listTopics(), ["orders-a"]);
      await rejectsWith(
        "alice's metadata of secret-1",
        "TOPIC_AUTHORIZATION_FAILED",
        () => admin.fetchTopicMetadata({ topics: ["secret-1"] }),
      );
      await rejectsWith(
        "alice's DescribeAcls",
        "CLUSTER_AUTHORIZATION_FAILED",
        () =>
          admin.describeAcls({
            resourceType: Resource.ANY,
            resourcePatternType: Pattern.ANY,
            operation: Op.ANY,
            permissionType: Perm.ANY,
          }),
      );
    });
    await withAdmin(broker, "admin-client", async (admin) => {
      assertEquals((await admin.listTopics()).sort(), ["orders-a", "secret-1"]);
      const deleted = await admin.deleteAcls({
        filters: [{
          resourceType: Resource.GROUP,
          resourcePatternType: Pattern.ANY,
          operation: Op.ANY,
          permissionType: Perm.ANY,
        }],
      });
      assertEquals(deleted.filterResponses[0].matchingAcls.map((a) => a.resourceName), [
        "alice-group",
      ]);
    });
    // Without READ on her group, alice's consumer is refused: kafkajs reports "Failed to find
    // group coordinator" without the cause, which the broker's answers show.
    await assertRejects(() =>
      consumeInGroup(broker, "alice-client", {
        topic: "orders-a",
        groupId: "alice-group",
        count: 1,
      })
    );
    const raw = await RawConnection.connect(broker.bootstrap, "alice-client");
    try {
      const found = await raw.request(findCoordinatorApi, 3, {
        key: "alice-group",
        keyType: 0,
        coordinatorKeys: [],
      });
      assertEquals(found.errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
      const fetched = await raw.request(offsetFetchApi, 7, {
        groupId: "alice-group",
        topics: null,
        groups: [],
        requireStable: false,
      });
      assertEquals(fetched.errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
    } finally {
      raw.close();
    }
  });
});

Deno.test("ACLs: DENY beats ALLOW, a super user does anything, the anonymous sees nothing", async () => {
  await withAclBroker(ACL_BROKER, async (broker) => {
    const acl = (fields: { resourceName: string; operation: Op; permissionType: Perm }) => ({
      resourceType: Resource.TOPIC,
      resourcePatternType: Pattern.LITERAL,
      principal: "User:bob",
      host: "*",
      ...fields,
    });
    await withAdmin(broker, "admin-client", async (admin) => {
      await admin.createTopics({ topics: [{ topic: "orders-b" }, { topic: "payments" }] });
      await admin.createAcls({
        acl: [
          acl({ resourceName: "*", operation: Op.ALL, permissionType: Perm.ALLOW }),
          acl({ resourceName: "orders-b", operation: Op.WRITE, permissionType: Perm.DENY }),
          {
            ...acl({ resourceName: "orders-b", operation: Op.ALL, permissionType: Perm.DENY }),
            principal: "User:*",
          },
        ],
      });
    });
    // Idempotent: InitProducerId passes on WRITE to some topic (no IDEMPOTENT_WRITE ACL).
    await produce(broker, "bob-client", "payments", ["p1"], { idempotent: true });
    await rejectsWith(
      "bob's produce to orders-b",
      "TOPIC_AUTHORIZATION_FAILED",
      () => produce(broker, "bob-client", "orders-b", ["b1"]),
    );
    // The super user passes the DENY on User:*.
    await produce(broker, "admin-client", "orders-b", ["admin-1"]);
    const read = await kcatConsume(broker.bootstrap, {
      topic: "payments",
      config: { "client.id": "bob-kcat" },
    });
    assertEquals(read.map((m) => m.value), ["p1"]);
    await assertRejects(
      () =>
        kcatConsume(broker.bootstrap, { topic: "orders-b", config: { "client.id": "bob-kcat" } }),
      SubprocessError,
    );
    await withAdmin(broker, "someone-else", async (admin) => {
      assertEquals(await admin.listTopics(), []);
    });
  });
});

Deno.test("ACL APIs answer SECURITY_DISABLED without an authorizer, which allows everything", async () => {
  await withAclBroker({}, async (broker) => {
    const c = await RawConnection.connect(broker.bootstrap, "someone");
    try {
      const versions = await c.request(apiVersionsApi, 3, {
        clientSoftwareName: "raw",
        clientSoftwareVersion: "1",
      });
      const keys = versions.apiKeys.map((k) => k.apiKey);
      for (const key of [29, 30, 31, 50, 51]) assert(keys.includes(key), `API key ${key}`);
      const described = await c.request(describeAclsApi, 3, {
        resourceTypeFilter: 1,
        resourceNameFilter: null,
        patternTypeFilter: 1,
        principalFilter: null,
        hostFilter: null,
        operation: 1,
        permissionType: 1,
      });
      assertEquals(described.errorCode, ErrorCode.SECURITY_DISABLED);
      const created = await c.request(createAclsApi, 3, {
        creations: [{
          resourceType: 2,
          resourceName: "t",
          resourcePatternType: 3,
          principal: "User:x",
          host: "*",
          operation: 3,
          permissionType: 3,
        }],
      });
      assertEquals(created.results.map((r) => r.errorCode), [ErrorCode.SECURITY_DISABLED]);
    } finally {
      c.close();
    }
    await produce(broker, "someone", "open-topic", ["v"]);
  });
});

Deno.test("SCRAM credential APIs: ALTER and DESCRIBE on the CLUSTER, keys only, file 0600", async () => {
  await withAclBroker(ACL_BROKER, async (broker, dataDir) => {
    const saltedPassword = crypto.getRandomValues(new Uint8Array(32));
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const upsertion = { name: "alice", mechanism: 1, iterations: 8192, salt, saltedPassword };
    const admin = await RawConnection.connect(broker.bootstrap, "admin-client");
    const alice = await RawConnection.connect(broker.bootstrap, "alice-client");
    try {
      const refused = await alice.request(alterUserScramCredentialsApi, 0, {
        deletions: [],
        upsertions: [upsertion],
      });
      assertEquals(refused.results.map((r) => [r.user, r.errorCode]), [[
        "alice",
        ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
      ]]);
      const altered = await admin.request(alterUserScramCredentialsApi, 0, {
        deletions: [{ name: "nobody", mechanism: 2 }],
        upsertions: [upsertion, { ...upsertion, name: "carol", mechanism: 9 }],
      });
      assertEquals(altered.results.map((r) => [r.user, r.errorCode]), [
        ["nobody", ErrorCode.RESOURCE_NOT_FOUND],
        ["alice", ErrorCode.NONE],
        ["carol", ErrorCode.UNSUPPORTED_SASL_MECHANISM],
      ]);
      const described = await admin.request(describeUserScramCredentialsApi, 0, { users: null });
      assertEquals(described.errorCode, ErrorCode.NONE);
      assertEquals(described.results.map((r) => [r.user, r.credentialInfos]), [[
        "alice",
        [{ mechanism: 1, iterations: 8192 }],
      ]]);
      const hidden = await alice.request(describeUserScramCredentialsApi, 0, { users: null });
      assertEquals(hidden.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
      assertEquals(hidden.results, []);
    } finally {
      admin.close();
      alice.close();
    }
    const path = `${dataDir}/${SCRAM_CREDENTIALS_FILE_NAME}`;
    assertEquals(await fileMode(path), 0o600);
    const text = await Deno.readTextFile(path);
    const base64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
    assert(text.includes(base64(salt)), "the salt is kept");
    assert(!text.includes(base64(saltedPassword)), "the salted password is not kept");
  });
});

Deno.test("ACLs with real SASL/SCRAM logins: kcat as alice reads her prefix only; bob, a super user, manages ACLs with kafkajs", async () => {
  await withSaslBroker({ authorizer: "acl", "super-users": "User:bob" }, async (t) => {
    const bob = new Kafka({
      clientId: "bob-admin",
      brokers: [t.bootstrap],
      sasl: { mechanism: "scram-sha-512", username: "bob", password: "bob-secret" },
      logLevel: logLevel.NOTHING,
      retry: { retries: 2, initialRetryTime: 100 },
    });
    const admin = bob.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: "orders-s" }, { topic: "secret-s" }] });
      await admin.createAcls({
        acl: [{
          resourceType: Resource.TOPIC,
          resourceName: "orders-",
          resourcePatternType: Pattern.PREFIXED,
          principal: "User:alice",
          host: "*",
          operation: Op.READ,
          permissionType: Perm.ALLOW,
        }],
      });
    } finally {
      await admin.disconnect();
    }
    const producer = bob.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    try {
      await producer.send({ topic: "orders-s", messages: [{ value: "s1" }, { value: "s2" }] });
      await producer.send({ topic: "secret-s", messages: [{ value: "hidden" }] });
    } finally {
      await producer.disconnect();
    }
    const alice = {
      "security.protocol": "sasl_plaintext",
      "sasl.mechanisms": "SCRAM-SHA-256",
      "sasl.username": "alice",
      "sasl.password": "alice-secret",
    };
    const read = await kcatConsume(t.bootstrap, { topic: "orders-s", config: alice });
    assertEquals(read.map((m) => m.value), ["s1", "s2"]);
    await assertRejects(
      () => kcatConsume(t.bootstrap, { topic: "secret-s", config: alice }),
      SubprocessError,
    );
    await assertRejects(
      () =>
        kcatProduce(t.bootstrap, [{ key: null, value: "x" }], {
          topic: "orders-s",
          config: { ...alice, "message.timeout.ms": "5000" },
        }),
      SubprocessError,
    );
  });
});
