import { assertEquals } from "../../util/assert.ts";
import { javaStringHash, offsetsPartitionFor } from "./_cluster_group_coordinator.ts";

Deno.test("offsetsPartitionFor() matches Kafka's Utils.abs(groupId.hashCode) % partitions", () => {
  assertEquals(javaStringHash("test"), 3556498);
  assertEquals(javaStringHash("my-group"), -1906497762);
  assertEquals(offsetsPartitionFor("test", 50), 48);
  assertEquals(offsetsPartitionFor("my-group", 50), 12);
  // Integer.MIN_VALUE: Kafka's Utils.abs maps it to 0.
  assertEquals(javaStringHash("polygenelubricants"), -2147483648);
  assertEquals(offsetsPartitionFor("polygenelubricants", 50), 0);
});
