/**
 * kcat (1.7.1, librdkafka 2.0.2, from Debian) as a producer and a consumer:
 * messages go in on stdin split by ASCII separators, come back as kcat's JSON
 * envelope (`-J`). kcat's producer exits once every message is delivered or
 * failed; its consumer stops after a count or at the partition's end (`-e`).
 *
 * @module
 */
import { type ConsumedMessage, run, type RunResult, SubprocessError, tail } from "./harness.ts";

/** kcat 1.7.1 (librdkafka 2.0.2) from Debian. */
export const KCAT_PATH = "kcat";

/** Options of {@linkcode kcatProduce}. */
export interface KcatProduceOptions {
  readonly topic: string;
  readonly partition?: number;
  /** gzip, snappy, lz4 or zstd. */
  readonly codec?: string;
  /** Headers added to every message (`-H k=v`). */
  readonly headers?: readonly [string, string][];
  /** Send empty values as null (`-Z`). */
  readonly emptyAsNull?: boolean;
  /** librdkafka properties (`-X k=v`). */
  readonly config?: Record<string, string>;
}

/** Separates messages on kcat's stdin (ASCII record separator). */
const KCAT_MESSAGE_DELIMITER = "\x1e";
/** Separates a key from its value on kcat's stdin (ASCII unit separator). */
const KCAT_KEY_DELIMITER = "\x1f";

/**
 * Produces `messages` (key + value, text without the two ASCII separators)
 * with kcat, which exits after every message is delivered or failed; throws
 * when kcat reports a failed delivery.
 */
export async function kcatProduce(
  bootstrap: string,
  messages: readonly { key: string | null; value: string }[],
  options: KcatProduceOptions,
): Promise<RunResult> {
  const args = [
    "-b",
    bootstrap,
    "-P",
    "-t",
    options.topic,
    "-p",
    String(options.partition ?? 0),
    "-D",
    "\\x1e",
    "-K",
    "\\x1f",
    "-X",
    "acks=all",
  ];
  if (options.codec !== undefined) args.push("-z", options.codec);
  if (options.emptyAsNull) args.push("-Z");
  for (const [k, v] of options.headers ?? []) args.push("-H", `${k}=${v}`);
  for (const [k, v] of Object.entries(options.config ?? {})) args.push("-X", `${k}=${v}`);
  const input = messages
    .map((m) => (m.key === null ? "" : m.key) + KCAT_KEY_DELIMITER + m.value)
    .join(KCAT_MESSAGE_DELIMITER) + KCAT_MESSAGE_DELIMITER;
  const result = await run(KCAT_PATH, args, { stdin: input });
  if (/Delivery failed|ERROR/i.test(result.stderrText)) {
    throw new SubprocessError(`kcat failed to deliver:\n${tail(result.stderrText)}`, result);
  }
  return result;
}

/** Options of {@linkcode kcatConsume}. */
export interface KcatConsumeOptions {
  readonly topic: string;
  readonly partition?: number;
  /** Absolute offset, or `beginning`/`end`/`-N`/`s@ts`. Default `beginning`. */
  readonly offset?: number | string;
  /** Stop after this many messages; kcat also stops at the partition's end (`-e`). */
  readonly count?: number;
  readonly config?: Record<string, string>;
  readonly timeoutMs?: number;
}

interface KcatJsonEnvelope {
  topic: string;
  partition: number;
  offset: number;
  ts: number;
  headers?: string[] | Record<string, string>;
  key: string | null;
  payload: string | null;
}

/**
 * Consumes with kcat's JSON envelope (`-J`) from `offset` until `count`
 * messages or the end of the partition, whichever comes first.
 */
export async function kcatConsume(
  bootstrap: string,
  options: KcatConsumeOptions,
): Promise<ConsumedMessage[]> {
  const args = [
    "-b",
    bootstrap,
    "-C",
    "-t",
    options.topic,
    "-p",
    String(options.partition ?? 0),
    "-o",
    String(options.offset ?? "beginning"),
    "-e",
    "-J",
  ];
  if (options.count !== undefined) args.push("-c", String(options.count));
  // An out-of-range offset fails the run instead of silently jumping to the end.
  const config = { "auto.offset.reset": "error", ...options.config };
  for (const [k, v] of Object.entries(config)) args.push("-X", `${k}=${v}`);
  const result = await run(KCAT_PATH, args, { timeoutMs: options.timeoutMs });
  if (/ERROR/.test(result.stderrText)) {
    throw new SubprocessError(`kcat consumer reported an error:\n${tail(result.stderrText)}`);
  }
  return result.stdoutText.split("\n").filter((line) => line.length > 0).map((line) => {
    const e = JSON.parse(line) as KcatJsonEnvelope;
    return {
      offset: e.offset,
      partition: e.partition,
      key: e.key,
      value: e.payload,
      headers: kcatHeaders(e.headers),
      timestamp: e.ts,
    };
  });
}

function kcatHeaders(headers: KcatJsonEnvelope["headers"]): [string, string | null][] {
  if (headers === undefined) return [];
  if (Array.isArray(headers)) {
    const pairs: [string, string | null][] = [];
    for (let i = 0; i + 1 < headers.length; i += 2) pairs.push([headers[i], headers[i + 1]]);
    return pairs;
  }
  return Object.entries(headers);
}
