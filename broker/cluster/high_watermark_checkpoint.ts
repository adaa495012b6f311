/**
 * The high watermarks of a broker's partitions on disk (Kafka's
 * `replication-offset-checkpoint` in each log directory, same format: a
 * version line `0`, the entry count, then `topic partition offset` lines),
 * written atomically every `replica.high.watermark.checkpoint.interval.ms` and
 * at shutdown. After a restart a replica starts from the checkpointed high
 * watermark instead of its log end, so records that were never committed are
 * not shown to consumers (nor counted as committed by a new leader) before
 * the in-sync replicas confirm them.
 *
 * @module
 */
import { Errno, IoError, type Libc } from "../../ffi/port.ts";
import { joinPath } from "../../storage/log_files.ts";

/** The file's name in the data directory (Kafka's). */
export const HIGH_WATERMARK_CHECKPOINT_FILE_NAME = "replication-offset-checkpoint";
/** Kafka's `replica.high.watermark.checkpoint.interval.ms` default. */
export const HIGH_WATERMARK_CHECKPOINT_INTERVAL_MS = 5_000;
const VERSION = 0;

/** One partition's checkpointed high watermark. */
export interface HighWatermarkEntry {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/** The checkpoint's text for `entries`. */
export function formatHighWatermarks(entries: readonly HighWatermarkEntry[]): string {
  const lines = [`${VERSION}`, `${entries.length}`];
  for (const e of entries) lines.push(`${e.topic} ${e.partition} ${e.offset}`);
  return lines.join("\n") + "\n";
}

/** Parses the checkpoint's text; throws Error on anything malformed. */
export function parseHighWatermarks(text: string): HighWatermarkEntry[] {
  const lines = text.split("\n").filter((line) => line.trim() !== "");
  if (lines.length < 2 || Number(lines[0]) !== VERSION) {
    throw new Error(`Unsupported high watermark checkpoint version "${lines[0]}"`);
  }
  if (Number(lines[1]) !== lines.length - 2) {
    throw new Error(`High watermark checkpoint count "${lines[1]}" does not match its lines`);
  }
  return lines.slice(2).map((line) => {
    const [topic, partition, offset] = line.trim().split(/\s+/);
    const entry = { topic, partition: Number(partition), offset: Number(offset) };
    if (!Number.isSafeInteger(entry.partition) || !Number.isSafeInteger(entry.offset)) {
      throw new Error(`Malformed high watermark checkpoint line "${line}"`);
    }
    return entry;
  });
}

/** Reads the checkpoint of `dataDir`; missing: empty. Throws IoError or Error (malformed). */
export function readHighWatermarks(libc: Libc, dataDir: string): HighWatermarkEntry[] {
  try {
    const bytes = libc.readFile(joinPath(dataDir, HIGH_WATERMARK_CHECKPOINT_FILE_NAME));
    return parseHighWatermarks(new TextDecoder().decode(bytes));
  } catch (error) {
    if (error instanceof IoError && error.errno === Errno.ENOENT) return [];
    throw error;
  }
}

/** Writes the checkpoint of `dataDir` atomically. Throws IoError. */
export function writeHighWatermarks(
  libc: Libc,
  dataDir: string,
  entries: readonly HighWatermarkEntry[],
): void {
  const path = joinPath(dataDir, HIGH_WATERMARK_CHECKPOINT_FILE_NAME);
  libc.writeFileAtomic(path, new TextEncoder().encode(formatHighWatermarks(entries)));
}
