/**
 * DescribeLogDirs (key 35): the one log directory (the data dir, as an
 * absolute path), each partition's size and offset lag (0: the only replica
 * is the leader), and the file system's total and usable bytes (v4+; -1
 * where the directory is not on a real file system). Needs DESCRIBE on the
 * CLUSTER: refused, no directory and CLUSTER_AUTHORIZATION_FAILED (v3+).
 *
 * @module
 */
import { statfsSync } from "node:fs";
import { resolve } from "node:path";
import { ErrorCode } from "../../protocol/error_codes.ts";
import type {
  DescribeLogDirsRequest,
  DescribeLogDirsResponse,
} from "../../protocol/messages/describe_log_dirs.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { describeLogDirsApi } from "../../protocol/messages/mod.ts";
import type { Partition } from "../topics.ts";
import { AclOperation } from "../security/acl.ts";
import { authorizeCluster } from "../security/authorize.ts";

type TopicResult = DescribeLogDirsResponse["results"][number]["topics"][number];

export const describeLogDirsHandler: ApiHandler = defineHandler(describeLogDirsApi, {
  minVersion: 0,
  maxVersion: 4,
  handle(ctx: RequestContext, request: DescribeLogDirsRequest): DescribeLogDirsResponse {
    if (!authorizeCluster(ctx, AclOperation.DESCRIBE)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, results: [] };
    }
    const topics = ctx.broker.topics;
    const wanted: [string, Partition[]][] = request.topics === null
      ? topics.list().map((t) => [t.name, t.partitions])
      : request.topics.map((t) => [
        t.topic,
        t.partitions.flatMap((i) => topics.partition(t.topic, i) ?? []),
      ]);
    const described: TopicResult[] = wanted
      .filter(([, partitions]) => partitions.length > 0)
      .map(([name, partitions]) => ({
        name,
        partitions: partitions.map((p) => ({
          partitionIndex: p.index,
          partitionSize: p.log.sizeBytes,
          offsetLag: 0,
          isFutureKey: false,
        })),
      }));
    const dir = resolve(ctx.broker.config.dataDir);
    const space = diskSpace(dir);
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      results: [{
        errorCode: ErrorCode.NONE,
        logDir: dir,
        topics: described,
        totalBytes: space.totalBytes,
        usableBytes: space.usableBytes,
      }],
    };
  },
});

function diskSpace(dir: string): { totalBytes: number; usableBytes: number } {
  try {
    const s = statfsSync(dir);
    return {
      totalBytes: Number(s.blocks) * Number(s.bsize),
      usableBytes: Number(s.bavail) * Number(s.bsize),
    };
  } catch {
    return { totalBytes: -1, usableBytes: -1 }; // an in-memory libc's directory is not on disk
  }
}
