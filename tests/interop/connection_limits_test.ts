/**
 * Connection limits with real sockets (issue 10, items 5 and 7), under small
 * limits so that each test takes well under a second of broker time:
 * `connections.max.idle.ms`, `connections.frame.timeout.ms`,
 * `max.connections`, `max.connections.per.ip`, and
 * `queued.max.request.bytes` against a client that pipelines without
 * reading. Runs against a Bun broker too (`DENKA_TEST_RUNTIME=bun`): the
 * counters are read with `readCounters()`.
 *
 * @module
 */
import { assert, assertEquals } from "../../util/assert.ts";
import { apiVersionsApi, metadataApi, produceApi } from "../../protocol/messages/mod.ts";
import { defaultMetadataRequest } from "../../protocol/messages/metadata.ts";
import { encodeRecordBatch } from "../../protocol/records.ts";
import { readResponseHeader } from "../../protocol/frame.ts";
import { Reader } from "../../protocol/primitives.ts";
import type { BrokerCounters, BrokerHandle } from "../../mod.ts";
import { readCounters } from "./bun_broker.ts";
import { withBroker } from "./harness.ts";
import { RawConnection } from "./raw_client.ts";

const TOPIC = "limits";
/** How long a condition on the broker's counters is polled for, at most. */
const POLL_DEADLINE_MS = 10_000;

function sizePrefix(sizeBytes: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setInt32(0, sizeBytes);
  return bytes;
}

async function apiVersions(c: RawConnection): Promise<number> {
  const res = await c.request(apiVersionsApi, 3, {
    clientSoftwareName: "limits",
    clientSoftwareVersion: "1",
  });
  return res.errorCode;
}

async function ensureTopic(c: RawConnection): Promise<void> {
  const request = { ...defaultMetadataRequest(), topics: [{ topicId: "", name: TOPIC }] };
  for (let attempt = 0; attempt < 50; attempt++) {
    const res = await c.request(metadataApi, 4, request);
    const t = res.topics.find((x) => x.name === TOPIC);
    if (t !== undefined && t.errorCode === 0 && t.partitions.length > 0) return;
  }
  throw new Error(`Topic "${TOPIC}" did not come up`);
}

/** A Produce v9 frame (acks=1) of one record of `valueBytes`. */
function produceFrame(c: RawConnection, valueBytes: number): Uint8Array {
  const batch = encodeRecordBatch([{
    key: null,
    value: new Uint8Array(valueBytes).fill(7),
    headers: [],
    timestampMs: 1_700_000_000_000,
  }]);
  return c.encode(produceApi, 9, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 5000,
    topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: batch }] }],
  }).frame;
}

/** The error code of the next Produce v9 response on `c`. */
async function produceErrorCode(c: RawConnection): Promise<number> {
  const next = await c.readFrame();
  if (next.kind === "closed") throw new Error("The broker closed a producing connection");
  const r = new Reader(next.body);
  readResponseHeader(r, produceApi.apiKey, 9);
  const res = produceApi.decodeResponse(r, 9);
  return res.responses[0].partitionResponses[0].errorCode;
}

/** Polls the broker's counters until `done` holds (there is no event to wait on). */
async function waitForCounters(
  broker: BrokerHandle,
  done: (c: BrokerCounters) => boolean,
): Promise<BrokerCounters> {
  const deadlineMs = Date.now() + POLL_DEADLINE_MS;
  for (;;) {
    const counters = await readCounters(broker);
    if (done(counters)) return counters;
    if (Date.now() > deadlineMs) {
      throw new Error(`Counters never reached the condition: ${JSON.stringify(counters)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** `promise`, or a failure naming `what` once {@linkcode POLL_DEADLINE_MS} has passed (never a hang). */
async function withinDeadline<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish in time`)), POLL_DEADLINE_MS);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("connections.max.idle.ms closes a connection without traffic", async () => {
  await withBroker({ connectionsMaxIdleMs: 200 }, async (t) => {
    const c = await RawConnection.connect(t.bootstrap);
    try {
      assertEquals(await apiVersions(c), 0);
      await c.expectClosed(); // no sleep: the broker's sweep hangs up
      const counters = await readCounters(t.broker);
      assertEquals(counters.connectionsClosedIdle, 1);
      assertEquals(counters.connectionsClosedFrameTimeout, 0);
    } finally {
      c.close();
    }
  });
});

Deno.test("connections.frame.timeout.ms closes size-prefix-only connections while a producer goes on", async () => {
  const slowCount = 20;
  await withBroker({ connectionsFrameTimeoutMs: 300 }, async (t) => {
    const producer = await RawConnection.connect(t.bootstrap);
    const slow = await Promise.all(
      Array.from({ length: slowCount }, () => RawConnection.connect(t.bootstrap)),
    );
    try {
      await ensureTopic(producer);
      await Promise.all(slow.map((c) => c.send(sizePrefix(1000))));
      let allClosed = false;
      const closed = Promise.all(slow.map((c) => c.expectClosed())).then(() => allClosed = true);
      let produced = 0;
      while (!allClosed) {
        await producer.send(produceFrame(producer, 100));
        assertEquals(await produceErrorCode(producer), 0);
        produced++;
      }
      await closed;
      assert(produced > 0, "The producer was not answered while the slow connections were open");
      const counters = await readCounters(t.broker);
      assertEquals(counters.connectionsClosedFrameTimeout, slowCount);
      assertEquals(counters.connectionsClosedIdle, 0);
      assertEquals(await apiVersions(producer), 0); // the producer's connection stayed open
    } finally {
      producer.close();
      for (const c of slow) c.close();
    }
  });
});

Deno.test("max.connections.per.ip refuses a connection past the limit and accepts after a close", async () => {
  await withBroker({ maxConnectionsPerIp: 2 }, async (t) => {
    const first = await RawConnection.connect(t.bootstrap);
    const second = await RawConnection.connect(t.bootstrap);
    try {
      assertEquals(await apiVersions(first), 0);
      assertEquals(await apiVersions(second), 0);
      const third = await RawConnection.connect(t.bootstrap);
      await third.expectClosed();
      third.close();
      assertEquals((await readCounters(t.broker)).connectionsRefused, 1);
      first.close();
      await waitForCounters(t.broker, (c) => c.connectionsOpen === 1);
      const fourth = await RawConnection.connect(t.bootstrap);
      assertEquals(await apiVersions(fourth), 0);
      fourth.close();
      assertEquals((await readCounters(t.broker)).connectionsRefused, 1);
    } finally {
      first.close();
      second.close();
    }
  });
});

Deno.test("max.connections: clients past the limit are refused cleanly, not locked out", async () => {
  const connectionsMax = 5;
  await withBroker({ maxConnections: connectionsMax }, async (t) => {
    const open = await Promise.all(
      Array.from({ length: connectionsMax }, () => RawConnection.connect(t.bootstrap)),
    );
    try {
      for (const c of open) assertEquals(await apiVersions(c), 0);
      const refused = await Promise.all([1, 2, 3].map(() => RawConnection.connect(t.bootstrap)));
      await Promise.all(refused.map((c) => c.expectClosed()));
      for (const c of refused) c.close();
      assertEquals((await readCounters(t.broker)).connectionsRefused, 3);
      for (const c of open.splice(0, 2)) c.close();
      await waitForCounters(t.broker, (c) => c.connectionsOpen === connectionsMax - 2);
      const again = await Promise.all([1, 2].map(() => RawConnection.connect(t.bootstrap)));
      for (const c of again) assertEquals(await apiVersions(c), 0);
      open.push(...again);
      assertEquals((await readCounters(t.broker)).connectionsRefused, 3);
    } finally {
      for (const c of open) c.close();
    }
  });
});

Deno.test("queued.max.request.bytes bounds what a non-reading pipelining client makes the broker hold", async () => {
  const capBytes = 64 * 1024;
  const valueBytes = 40 * 1024;
  const frameCount = 60; // 2.4 MB pipelined, 37 times the cap
  await withBroker({ requestMaxBytes: capBytes, queuedMaxRequestBytes: capBytes }, async (t) => {
    const holder = await RawConnection.connect(t.bootstrap);
    const pipeliner = await RawConnection.connect(t.bootstrap);
    try {
      await ensureTopic(holder);
      // The holder starts a frame and stops: its size is reserved once its body starts.
      const held = produceFrame(holder, valueBytes);
      await holder.send(held.subarray(0, 1024));
      await waitForCounters(t.broker, (c) => c.queuedRequestBytes === held.length - 4);
      // The pipeliner writes many frames without reading a response: the first waits for room.
      const frames = Array.from({ length: frameCount }, () => produceFrame(pipeliner, valueBytes));
      const written = (async () => {
        for (const f of frames) await pipeliner.send(f);
      })();
      const during = await waitForCounters(t.broker, (c) => c.queuedRequestWaits >= 1);
      assert(during.queuedRequestBytes <= capBytes);
      await holder.send(held.subarray(1024));
      assertEquals(await produceErrorCode(holder), 0);
      await withinDeadline(written, "Writing the pipelined frames");
      for (let i = 0; i < frameCount; i++) assertEquals(await produceErrorCode(pipeliner), 0);
      const after = await readCounters(t.broker);
      assert(
        after.queuedRequestBytesPeak <= capBytes,
        `queued request bytes peaked at ${after.queuedRequestBytesPeak}, past the cap ${capBytes}`,
      );
      assertEquals(after.queuedRequestBytes, 0);
    } finally {
      holder.close();
      pipeliner.close();
    }
  });
});

Deno.test("queued.max.request.bytes: a refused large frame gives its room to the connection waiting for it", async () => {
  const frameBytes = 5 * 1024 * 1024; // past the recycled-buffer range: freed at once when refused
  await withBroker(
    { requestMaxBytes: frameBytes, queuedMaxRequestBytes: frameBytes },
    async (t) => {
      const garbage = new Uint8Array(4 + frameBytes);
      new DataView(garbage.buffer).setInt32(0, frameBytes);
      garbage.set([0, 0, 0, 9], 4); // Produce v9, then zeros: undecodable, refused once whole
      const conns = await Promise.all([1, 2].map(() => RawConnection.connect(t.bootstrap)));
      const [first, second] = conns;
      try {
        // The first frame's body starts: its size is reserved, the whole cap.
        await first.send(garbage.subarray(0, 1024));
        await waitForCounters(t.broker, (c) => c.queuedRequestBytes === frameBytes);
        // The second frame waits for room (the broker stops reading it)...
        const secondSent = second.send(garbage).catch(() => {});
        await waitForCounters(t.broker, (c) => c.queuedRequestWaits >= 1);
        // ...until the first is whole, refused and freed. A broker that never read the
        // second again would fail expectClosed() after its timeout, not hang in send().
        const firstSent = first.send(garbage.subarray(1024)).catch(() => {});
        await first.expectClosed();
        await second.expectClosed();
        await Promise.all([firstSent, secondSent]);
        const counters = await readCounters(t.broker);
        assertEquals(counters.queuedRequestBytes, 0);
        assertEquals(counters.queuedRequestBytesPeak, frameBytes);
      } finally {
        for (const c of conns) c.close();
      }
    },
  );
});
