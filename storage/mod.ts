/**
 * The storage layer's public surface: a partition's log of segment files
 * (append, read as file slices, retention, compaction, recovery), its
 * settings, group commit, and the names of its files. Everything else in
 * `storage/` is internal to it.
 *
 * @module
 */
export {
  type AppendFailure,
  type AppendOptions,
  type AppendResult,
  type AppendSuccess,
  PartitionLog,
  type PartitionLogOptions,
  type ReadResult,
} from "./partition_log.ts";
export { type FetchSlices, NO_SLICES } from "./fetch_pipeline.ts";
export { LOG_CONFIG_DEFAULT, type LogConfig, logConfig } from "./log_config.ts";
export { type CompactionResult, compactLog } from "./cleaner.ts";
export { type Flushable, GroupCommit, type GroupCommitStats } from "./flusher.ts";
export { parsePartitionDirName, partitionDirName } from "./log_files.ts";
export type { TimestampOffset } from "./time_index.ts";
