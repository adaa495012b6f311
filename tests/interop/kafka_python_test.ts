/**
 * kafka-python 2.0.2 (pure Python, its own protocol code): KafkaProducer then
 * a KafkaConsumer with manual assign() + seek(), no group.
 */
import { assert, assertEquals } from "../../util/assert.ts";
import { readStoredBatches, runPython, withBroker } from "./harness.ts";

interface RoundTrip {
  produced: number[];
  consumed: { offset: number; key: string; value: string; headers: [string, string][] }[];
  end_offset: number;
  api_version: number[] | null;
}

for (const compression of [null, "gzip"]) {
  Deno.test(`kafka-python: produce then assign + seek round trip (${compression ?? "none"})`, async () => {
    await withBroker({}, async (t) => {
      const count = 500;
      const seekTo = 123;
      const result = await runPython<RoundTrip>("kafka_python_roundtrip.py", {
        bootstrap: t.bootstrap,
        topic: "kp",
        count,
        seek_to: seekTo,
        compression_type: compression,
      });
      assertEquals(result.produced, Array.from({ length: count }, (_, i) => i));
      assertEquals(result.end_offset, count);
      assertEquals(result.consumed.length, count - seekTo);
      result.consumed.forEach((m, j) => {
        const i = seekTo + j;
        assertEquals(m, { offset: i, key: `k-${i}`, value: `v-${i}`, headers: [["i", String(i)]] });
      });
      const batches = await readStoredBatches(t.dataDir, "kp", 0);
      if (compression === null) {
        for (const b of batches) assertEquals(b.compression, 0);
      } else {
        // kafka-python sends a batch uncompressed when gzip would not shrink it (a batch of a
        // record or two, cut by linger): every batch is gzip or none, and gzip carries most.
        for (const b of batches) assert([0, 1].includes(b.compression), `codec ${b.compression}`);
        const gzipRecords = batches.filter((b) => b.compression === 1)
          .reduce((sum, b) => sum + b.recordCount, 0);
        assert(gzipRecords >= count / 2, `only ${gzipRecords} of ${count} records were gzip'd`);
      }
    });
  });
}
