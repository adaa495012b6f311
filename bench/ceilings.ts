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
  else if (mode === "sync") {
    const [, dir, files, batchBytes, durationMs] = Deno.args;
    result = await syncLoops(dir, Number(files), Number(batchBytes), Number(durationMs));
  } else throw new Error(`Unknown mode "${mode}"`);
  console.log(JSON.stringify(result));
  Deno.exit(0);
}

if (import.meta.main) await main();
