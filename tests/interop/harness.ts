/**
 * Helpers for the real-client interop suites: a broker in a fresh temp
 * directory, subprocesses with a deadline and captured output, the Python
 * drivers (`/usr/bin/python3`, Debian's, which has `confluent_kafka` and
 * `kafka`), and a reader of the batch headers a partition stored. The kcat
 * drivers are in `kcat.ts`.
 *
 * Nothing here sleeps to synchronise: producers report delivery before they
 * exit, consumers stop after a count or at the end of the partition, and
 * every wait is bounded by a deadline that fails the test.
 *
 * @module
 */
import { type BrokerHandle, startBroker, type StartBrokerOptions } from "../../mod.ts";
import { RecordBatchView } from "../../protocol/record_batch.ts";
import { startBunBroker, TEST_RUNTIME } from "./bun_broker.ts";

/** Debian's interpreter, with `confluent_kafka` 1.7 and `kafka-python` 2.0.2. */
export const PYTHON_PATH = "/usr/bin/python3";
/** Deadline of one client subprocess. */
export const SUBPROCESS_TIMEOUT_MS = 60_000;

const PY_DIR = new URL("./py/", import.meta.url).pathname;

/** A broker started for one test, with its data directory. */
export interface TestBroker {
  readonly broker: BrokerHandle;
  readonly dataDir: string;
  readonly bootstrap: string;
}

/** Options of {@linkcode withBroker}: the broker's, minus port and data directory. */
export type TestBrokerOptions = Omit<StartBrokerOptions, "port" | "dataDir">;

/** A fresh temp directory for a broker's data. */
export function makeDataDir(): Promise<string> {
  return Deno.makeTempDir({ prefix: "denka-interop-" });
}

/**
 * Starts a broker on a free port over `dataDir`: in-process, or as a
 * `bun run main.ts` subprocess when `DENKA_TEST_RUNTIME=bun` (see `bun_broker.ts`).
 */
export function startTestBroker(
  dataDir: string,
  options: TestBrokerOptions = {},
): Promise<BrokerHandle> {
  if (TEST_RUNTIME === "bun") return startBunBroker(dataDir, { logLevel: "warn", ...options });
  // `listeners` replaces the one PLAINTEXT listener on a free port.
  const port = options.listeners === undefined ? { port: 0 } : {};
  return startBroker({ logLevel: "warn", ...options, ...port, dataDir });
}

/**
 * Runs `fn` against a broker on a free port in a fresh temp directory; the
 * broker is closed and the directory removed whatever happens.
 */
export async function withBroker<T>(
  options: TestBrokerOptions,
  fn: (t: TestBroker) => Promise<T>,
): Promise<T> {
  const dataDir = await makeDataDir();
  try {
    const broker = await startTestBroker(dataDir, options);
    try {
      return await fn({ broker, dataDir, bootstrap: broker.bootstrap });
    } finally {
      await broker.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Subprocesses.

/** What a finished subprocess left behind. */
export interface RunResult {
  readonly code: number;
  readonly stdout: Uint8Array;
  readonly stdoutText: string;
  readonly stderrText: string;
}

/** Options of {@linkcode run}. */
export interface RunOptions {
  /** Bytes or text written to the child's stdin, which is then closed. */
  readonly stdin?: Uint8Array | string;
  readonly timeoutMs?: number;
  readonly env?: Record<string, string>;
  /** Throw when the exit code is not 0 (default true). */
  readonly check?: boolean;
}

/** The error of a subprocess that failed or ran past its deadline. */
export class SubprocessError extends Error {
  readonly result: RunResult | undefined;
  constructor(message: string, result?: RunResult) {
    super(message);
    this.name = "SubprocessError";
    this.result = result;
  }
}

const textDecoder = new TextDecoder();
const textEncoder = new TextEncoder();

/**
 * Runs `command` with `args`, feeding `stdin` and capturing stdout and stderr;
 * kills it (SIGKILL) and throws when it outlives `timeoutMs`.
 */
export async function run(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? SUBPROCESS_TIMEOUT_MS;
  const child = new Deno.Command(command, {
    args: [...args],
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: options.env,
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, timeoutMs);
  try {
    const output = child.output();
    if (options.stdin !== undefined) {
      const bytes = typeof options.stdin === "string"
        ? textEncoder.encode(options.stdin)
        : options.stdin;
      const writer = child.stdin.getWriter();
      try {
        await writer.write(bytes);
      } finally {
        await writer.close().catch(() => {});
      }
    }
    const out = await output;
    const result: RunResult = {
      code: out.code,
      stdout: out.stdout,
      stdoutText: textDecoder.decode(out.stdout),
      stderrText: textDecoder.decode(out.stderr),
    };
    const line = `${command} ${args.join(" ")}`;
    if (timedOut) {
      throw new SubprocessError(
        `Command "${line}" ran past ${timeoutMs} ms; stderr:\n${tail(result.stderrText)}`,
        result,
      );
    }
    if ((options.check ?? true) && result.code !== 0) {
      throw new SubprocessError(
        `Command "${line}" exited with ${result.code}; stderr:\n${tail(result.stderrText)}` +
          `\nstdout:\n${tail(result.stdoutText)}`,
        result,
      );
    }
    return result;
  } finally {
    clearTimeout(timer);
  }
}

/** The last `maxChars` characters of `text` (error messages quote tails of client output). */
export function tail(text: string, maxChars = 4000): string {
  return text.length <= maxChars ? text : "..." + text.slice(-maxChars);
}

// ---------------------------------------------------------------------------------------------
// Python drivers: JSON in on stdin, JSON out on stdout.

/**
 * Runs `tests/interop/py/<script>` with `input` as JSON on stdin and returns
 * its stdout parsed as JSON.
 */
export async function runPython<T = Record<string, unknown>>(
  script: string,
  input: unknown,
  options: { timeoutMs?: number } = {},
): Promise<T> {
  const result = await run(PYTHON_PATH, [PY_DIR + script], {
    stdin: JSON.stringify(input),
    timeoutMs: options.timeoutMs,
    env: { PYTHONDONTWRITEBYTECODE: "1", PYTHONUNBUFFERED: "1" },
  });
  try {
    return JSON.parse(result.stdoutText) as T;
  } catch {
    throw new SubprocessError(
      `Script "${script}" printed no JSON; stdout:\n${tail(result.stdoutText)}` +
        `\nstderr:\n${tail(result.stderrText)}`,
      result,
    );
  }
}

/** A message as the Python drivers and kcat helpers exchange it (UTF-8 text). */
export interface TextMessage {
  readonly key: string | null;
  readonly value: string | null;
  readonly headers?: readonly [string, string][];
  readonly timestamp?: number;
  readonly partition?: number;
}

/** A consumed message. */
export interface ConsumedMessage {
  readonly offset: number;
  readonly partition: number;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: [string, string | null][];
  readonly timestamp: number;
}

// ---------------------------------------------------------------------------------------------
// What the broker stored.

/** One stored batch header. */
export interface StoredBatch {
  readonly segmentFile: string;
  readonly positionBytes: number;
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly recordCount: number;
  /** 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd. */
  readonly compression: number;
  readonly sizeBytes: number;
  readonly producerId: number;
  readonly partitionLeaderEpoch: number;
  readonly crcValid: boolean;
}

/** Kafka's compression codec ids by name. */
export const CODEC_IDS: Readonly<Record<string, number>> = {
  none: 0,
  gzip: 1,
  snappy: 2,
  lz4: 3,
  zstd: 4,
};

/** `<dataDir>/<topic>-<partition>`. */
export function partitionDir(dataDir: string, topic: string, partition: number): string {
  return `${dataDir}/${topic}-${partition}`;
}

/** Names of the `.log` files of a partition, in offset order. */
export async function segmentLogFiles(
  dataDir: string,
  topic: string,
  partition: number,
): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(partitionDir(dataDir, topic, partition))) {
    if (/^\d{20}\.log$/.test(entry.name)) names.push(entry.name);
  }
  return names.sort();
}

/**
 * Walks every batch header the broker stored for a partition, segment by
 * segment (read while the broker may still run: stops at a zero or partial
 * tail, as preallocated or in-flight bytes may follow the last batch).
 */
export async function readStoredBatches(
  dataDir: string,
  topic: string,
  partition: number,
): Promise<StoredBatch[]> {
  const batches: StoredBatch[] = [];
  const dir = partitionDir(dataDir, topic, partition);
  for (const name of await segmentLogFiles(dataDir, topic, partition)) {
    const bytes = await Deno.readFile(`${dir}/${name}`);
    const view = new RecordBatchView(bytes);
    let positionBytes = 0;
    while (positionBytes + 61 <= bytes.length) {
      view.moveTo(positionBytes);
      if (view.batchLengthBytes <= 0 || positionBytes + view.sizeBytes > bytes.length) break;
      batches.push({
        segmentFile: name,
        positionBytes,
        baseOffset: view.baseOffset,
        lastOffset: view.lastOffset,
        recordCount: view.recordCount,
        compression: view.compression,
        sizeBytes: view.sizeBytes,
        producerId: view.producerId,
        partitionLeaderEpoch: view.partitionLeaderEpoch,
        crcValid: view.isCrcValid(),
      });
      positionBytes += view.sizeBytes;
    }
  }
  return batches;
}

// ---------------------------------------------------------------------------------------------
// Test data.

/** `count` text messages `key-<i>` / `value-<i>-<padding>` (deterministic). */
export function makeTextMessages(
  count: number,
  options: { prefix?: string; valuePaddingBytes?: number } = {},
): { key: string; value: string }[] {
  const prefix = options.prefix ?? "";
  const pad = "x".repeat(options.valuePaddingBytes ?? 16);
  return Array.from({ length: count }, (_, i) => ({
    key: `${prefix}key-${i}`,
    value: `${prefix}value-${i}-${pad}`,
  }));
}

/** A unique topic name for one test. */
export function topicName(label: string): string {
  return `${label}-${crypto.randomUUID().slice(0, 8)}`;
}
