import { memoryLibc } from "../../ffi/memory.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { assertEquals } from "../../util/assert.ts";
import {
  AclOperation as Op,
  AclPermissionType as Perm,
  PatternType,
  ResourceType,
} from "../security/acl.ts";
import { AclStore } from "../security/acl_store.ts";
import { configResourceRefusal } from "./_config_resources.ts";

function ctxOf(principal: string) {
  const libc = memoryLibc({ seed: 3 });
  libc.mkdirp("/data");
  const acls = AclStore.open(libc, "/data");
  acls.create([{
    resourceType: ResourceType.TOPIC,
    resourceName: "orders-",
    resourcePatternType: PatternType.PREFIXED,
    principal: "User:alice",
    host: "*",
    operation: Op.ALTER_CONFIGS,
    permissionType: Perm.ALLOW,
  }]);
  return { broker: { acls }, connection: { principal, socket: { remoteAddress: "10.0.0.1:1" } } };
}

Deno.test("configResourceRefusal() checks topics on the topic, brokers on the CLUSTER", () => {
  const alice = ctxOf("User:alice");
  const topic = (resourceName: string) => ({ resourceType: 2, resourceName });
  assertEquals(configResourceRefusal(alice, Op.DESCRIBE_CONFIGS, topic("orders-a")), undefined);
  assertEquals(
    configResourceRefusal(alice, Op.ALTER_CONFIGS, topic("payments"))?.errorCode,
    ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  );
  assertEquals(
    configResourceRefusal(alice, Op.DESCRIBE_CONFIGS, { resourceType: 4, resourceName: "0" })
      ?.errorCode,
    ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  );
  assertEquals(
    configResourceRefusal(alice, Op.ALTER_CONFIGS, { resourceType: 8, resourceName: "0" })
      ?.errorCode,
    ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  );
});
