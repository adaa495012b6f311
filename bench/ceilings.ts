/**
 * The ceilings the targets are ratios to, each a tiny JS process (Deno),
 * measured in the same run as the broker:
 *
 * - `loop-recv` / `loop-send`: a plain socket pair between two processes,
 *   1 MiB writes; the receiver reports bytes over time (the loopback ceiling).
 * - `ingest`: a server that reads whatever arrives (the same produce frames
 *   the load generator sends the broker, via `loadgen.ts` `blast`) and appends
 *   each read to a file; no parsing, no answer (the ingest ceiling).
 * - `sink`: a server that answers every frame with an empty produce response
 *   and discards the rest (the load generator's own ceiling).
 * - `echo` / `echo-client`: workload 5's network path alone: a client sends
 *   one length-prefixed message every `intervalMs` (the size of one
 *   workload 5 batch) and a server sends each whole message back; the
 *   round trip (one hop each way, as a produce request and the fetch
 *   response that carries its batch) gives the latency ceiling, p50 / p99 /
 *   p99.9.
 * - `sync`: workload 3's disk alone: N files, each a loop of "append one
 *   batch, fdatasync" (Deno's `syncData`, on its thread pool), all N at once,
 *   no network and no parsing (the ceiling of acks=all in the sync flush mode
 *   with one fdatasync per partition per request).
 *
 * Servers print `{"port": N}` first; every process prints one JSON result
 * line last (servers when their client hangs up).
 *
 * @module
 */

const BUFFER_BYTES = 1024 * 1024;

function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

/** What a ceiling process reports. */
export interface CeilingResult {
  bytes: number;
  /** First byte received (servers) or first write (sender). */
  startMs: number;
  endMs: number;
  /** `echo-client`: every round trip in ms, sorted. */
  latenciesMs?: number[];
}

/** Reads exactly `buffer.length` bytes; false at EOF. */
async function readFull(conn: Deno.Conn, buffer: Uint8Array): Promise<boolean> {
  for (let at = 0; at < buffer.length;) {
    const n = await conn.read(buffer.subarray(at)).catch(() => null);
    if (n === null) return false;
    at += n;
  }
  return true;
}

async function writeFull(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}

/** Sends every length-prefixed message back whole, until the client hangs up. */
async function echo(): Promise<CeilingResult> {
  const listener = listen();
  const conn = await listener.accept();
  (conn as Deno.TcpConn).setNoDelay(true);
  const result: CeilingResult = { bytes: 0, startMs: 0, endMs: 0 };
  const prefix = new Uint8Array(4);
  let buffer = new Uint8Array(0);
  while (await readFull(conn, prefix)) {
    const sizeBytes = new DataView(prefix.buffer).getInt32(0);
    if (buffer.length !== sizeBytes + 4) buffer = new Uint8Array(sizeBytes + 4);
    buffer.set(prefix);
    if (!await readFull(conn, buffer.subarray(4))) break;
    if (result.bytes === 0) result.startMs = wallMs();
    result.bytes += buffer.length;
    result.endMs = wallMs();
    await writeFull(conn, buffer);
  }
  return result;
}

/** One message of `messageBytes` every `intervalMs` for `durationMs` (after 1 s of warm-up). */
async function echoClient(
  target: string,
  messageBytes: number,
  intervalMs: number,
  durationMs: number,
): Promise<CeilingResult> {
  const [hostname, port] = target.split(":");
  const conn = await Deno.connect({ hostname, port: Number(port) });
  conn.setNoDelay(true);
  const message = new Uint8Array(messageBytes).fill(7);
  new DataView(message.buffer).setInt32(0, messageBytes - 4);
  const back = new Uint8Array(messageBytes);
  const warmupCount = Math.floor(1000 / intervalMs);
  const count = warmupCount + Math.floor(durationMs / intervalMs);
  const result: CeilingResult = { bytes: 0, startMs: wallMs(), endMs: 0, latenciesMs: [] };
  // The same absolute schedule as the latency load generator; one message in flight.
  for (let i = 0; i < count; i++) {
    const waitMs = result.startMs + i * intervalMs - wallMs();
    if (waitMs > 0.5) await new Promise((r) => setTimeout(r, waitMs));
    const sentMs = wallMs();
    await writeFull(conn, message);
    if (!await readFull(conn, back)) throw new Error("The echo server hung up");
    if (i >= warmupCount) result.latenciesMs!.push(wallMs() - sentMs);
    result.bytes += messageBytes;
  }
  result.endMs = wallMs();
  conn.close();
  result.latenciesMs!.sort((a, b) => a - b);
  return result;
}

function listen(): Deno.TcpListener {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  console.log(JSON.stringify({ port: (listener.addr as Deno.NetAddr).port }));
  return listener;
}

/** Receives until EOF from one connection, calling `onChunk` on each read. */
async function receive(
  conn: Deno.Conn,
  onChunk: (chunk: Uint8Array) => void,
): Promise<CeilingResult> {
  const buffer = new Uint8Array(BUFFER_BYTES);
  const result: CeilingResult = { bytes: 0, startMs: 0, endMs: 0 };
  for (;;) {
    const n = await conn.read(buffer).catch(() => null);
    if (n === null) break;
    if (result.bytes === 0) result.startMs = wallMs();
    result.bytes += n;
    result.endMs = wallMs();
    onChunk(buffer.subarray(0, n));
  }
  return result;
}

async function loopRecv(): Promise<CeilingResult> {
  const listener = listen();
  const conn = await listener.accept();
  return await receive(conn, () => {});
}

async function loopSend(target: string, totalBytes: number): Promise<CeilingResult> {
  const [hostname, port] = target.split(":");
  const conn = await Deno.connect({ hostname, port: Number(port) });
  const chunk = new Uint8Array(BUFFER_BYTES).fill(7);
  const result: CeilingResult = { bytes: 0, startMs: wallMs(), endMs: 0 };
  while (result.bytes < totalBytes) {
    result.bytes += await conn.write(chunk);
  }
  result.endMs = wallMs();
  conn.close();
  return result;
}

async function ingest(path: string): Promise<CeilingResult> {
  const listener = listen();
  const conn = await listener.accept();
  const file = Deno.openSync(path, { write: true, create: true, truncate: true });
  try {
    return await receive(conn, (chunk) => {
      for (let done = 0; done < chunk.length;) done += file.writeSync(chunk.subarray(done));
    });
  } finally {
    file.close();
  }
}

/** Answers every frame with an empty produce v9 response (header v1: correlation id + no tags). */
async function sink(): Promise<CeilingResult> {
  const listener = listen();
  const totals: CeilingResult = { bytes: 0, startMs: 0, endMs: 0 };
  const serve = async (conn: Deno.Conn) => {
    (conn as Deno.TcpConn).setNoDelay(true);
    const buffer = new Uint8Array(BUFFER_BYTES);
    const view = new DataView(buffer.buffer);
    let skipBytes = 0; // body bytes of the current frame still to discard
    let have = 0; // bytes of a partial frame header kept at buffer[0, have)
    for (;;) {
      const n = await conn.read(buffer.subarray(have)).catch(() => null);
      if (n === null) return;
      if (totals.bytes === 0) totals.startMs = wallMs();
      totals.bytes += n;
      totals.endMs = wallMs();
      let at = 0;
      const end = have + n;
      const answers: number[] = [];
      while (at < end) {
        if (skipBytes > 0) {
          const take = Math.min(skipBytes, end - at);
          skipBytes -= take;
          at += take;
          continue;
        }
        if (end - at < 12) break; // size prefix + apiKey, apiVersion, correlationId
        const size = view.getInt32(at);
        answers.push(view.getInt32(at + 8));
        skipBytes = size + 4;
      }
      buffer.copyWithin(0, at, end);
      have = end - at;
      if (answers.length > 0) {
        const out = new Uint8Array(answers.length * 15);
        const ov = new DataView(out.buffer);
        answers.forEach((correlationId, i) => {
          ov.setInt32(i * 15, 11); // correlationId, header tags, responses [], throttle, tags
          ov.setInt32(i * 15 + 4, correlationId);
          out[i * 15 + 9] = 1; // compact array of length 0
        });
        for (let done = 0; done < out.length;) done += await conn.write(out.subarray(done));
      }
    }
  };
  const served: Promise<void>[] = [];
  const stop = new Promise<void>((resolve) => Deno.addSignalListener("SIGTERM", resolve));
  (async () => {
    for await (const conn of listener) served.push(serve(conn).catch(() => {}));
  })();
  await stop;
  return totals;
}

async function syncLoops(
  dir: string,
  files: number,
  batchBytes: number,
  durationMs: number,
): Promise<CeilingResult> {
  const batch = new Uint8Array(batchBytes).fill(7);
  const result: CeilingResult = { bytes: 0, startMs: wallMs(), endMs: 0 };
  const loop = async (i: number) => {
    const path = `${dir}/sync-${i}.dat`;
    const file = Deno.openSync(path, { write: true, create: true, truncate: true });
    try {
      while (wallMs() - result.startMs < durationMs) {
        for (let done = 0; done < batch.length;) done += file.writeSync(batch.subarray(done));
        await file.syncData();
        result.bytes += batch.length;
      }
    } finally {
      file.close();
      Deno.removeSync(path);
    }
  };
  await Promise.all(Array.from({ length: files }, (_, i) => loop(i)));
  result.endMs = wallMs();
  return result;
}

async function main(): Promise<void> {
  const [mode, arg1, arg2] = Deno.args;
  let result: CeilingResult;
  if (mode === "loop-recv") result = await loopRecv();
  else if (mode === "loop-send") result = await loopSend(arg1, Number(arg2));
  else if (mode === "ingest") result = await ingest(arg1);
  else if (mode === "sink") result = await sink();
  else if (mode === "echo") result = await echo();
  else if (mode === "echo-client") {
    const [, target, messageBytes, intervalMs, durationMs] = Deno.args;
    result = await echoClient(target, Number(messageBytes), Number(intervalMs), Number(durationMs));
  } else if (mode === "sync") {
    const [, dir, files, batchBytes, durationMs] = Deno.args;
    result = await syncLoops(dir, Number(files), Number(batchBytes), Number(durationMs));
  } else throw new Error(`Unknown mode "${mode}"`);
  console.log(JSON.stringify(result));
  Deno.exit(0);
}

if (import.meta.main) await main();
