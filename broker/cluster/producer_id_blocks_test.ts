import { assert, assertEquals } from "../../util/assert.ts";
import { MemoryCoordinatorServer } from "./memory_coordinator.ts";
import { ProducerIdBlocks } from "./producer_id_blocks.ts";

Deno.test("ProducerIdBlocks: brokers claiming at once never hand out the same id", async () => {
  // The three claim at once: they read the same block key, and all but one lose the CAS.
  const server = new MemoryCoordinatorServer();
  const brokers = [0, 1, 2].map(() =>
    new ProducerIdBlocks(server.connect("/denka/test/"), { blockSize: 4 })
  );
  await Promise.all(brokers.map((b) => b.prefetch()));
  const ids: number[] = [];
  for (let round = 0; round < 10; round++) {
    // Each broker hands out two ids: from its block without waiting, or after a claim.
    ids.push(...await Promise.all(brokers.map((b) => b.next())));
    for (const b of brokers) {
      try {
        ids.push(b.nextSync());
      } catch {
        ids.push(await b.next());
      }
    }
  }
  assertEquals(ids.length, 60);
  assertEquals(new Set(ids).size, 60);
  // Each broker knows its own ids only.
  const first = ids[0];
  assert(brokers.filter((b) => b.wasIssued(first)).length === 1);
});

Deno.test("ProducerIdBlocks.nextSync() claims the next block in the background at half a block", async () => {
  const server = new MemoryCoordinatorServer();
  const blocks = new ProducerIdBlocks(server.connect("/denka/test/"), { blockSize: 4 });
  await blocks.prefetch();
  assertEquals([blocks.nextSync(), blocks.nextSync()], [0, 1]);
  assertEquals(blocks.nextSync(), 2); // two left before: the spare claim starts now
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals([blocks.nextSync(), blocks.nextSync()], [3, 4]);
  assert(blocks.wasIssued(4) && !blocks.wasIssued(5));
});
