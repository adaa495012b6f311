/**
 * The broker's Prometheus metrics: what is counted as it happens (Kafka
 * requests per API, per-topic traffic, HTTP requests, flush latency) and
 * what is read at scrape time (connections, sendfile versus copy bytes,
 * partition offsets and sizes, disk space, consumer-group offsets and lag).
 *
 * @module
 */
import { statfsSync } from "node:fs";
import type { Libc } from "../../ffi/port.ts";
import { MsyncFlags } from "../../ffi/port.ts";
import { apiTable } from "../../protocol/messages/mod.ts";
import type { BrokerCore, RequestInfo } from "../context.ts";
import type { GroupSource } from "../groups/group_source.ts";
import { groupLags } from "./group_lag.ts";
import type { TrafficSink } from "../traffic.ts";
import { type GaugeSample, MetricsRegistry } from "./registry.ts";
import { type ClusterHealth, clusterHealth } from "../cluster/cluster_health.ts";

/** What scrape-time gauges read. */
export interface MetricsState {
  readonly broker: BrokerCore;
  readonly groups: GroupSource;
  connectionCount(): number;
  isReady(): boolean;
}

/** See the module doc. One per broker. */
export class BrokerMetrics implements TrafficSink {
  readonly registry = new MetricsRegistry();
  readonly kafkaRequests = this.registry.counter(
    "denka_kafka_requests_total",
    "Kafka requests handled, by API.",
  );
  readonly kafkaRequestSeconds = this.registry.histogram(
    "denka_kafka_request_duration_seconds",
    "Time from a decoded Kafka request to its response (long-poll waits included), by API.",
  );
  readonly bytesIn = this.registry.counter(
    "denka_topic_bytes_in_total",
    "Record batch bytes appended, by topic (Kafka produce and HTTP).",
  );
  readonly recordsIn = this.registry.counter(
    "denka_topic_records_in_total",
    "Records appended, by topic.",
  );
  readonly bytesOut = this.registry.counter(
    "denka_topic_bytes_out_total",
    "Record batch bytes served, by topic (Kafka fetch and HTTP reads).",
  );
  readonly recordsOut = this.registry.counter(
    "denka_topic_records_out_total",
    "Records served, by topic (Kafka fetch: offsets delivered past the fetch offset).",
  );
  readonly httpRequests = this.registry.counter(
    "denka_http_requests_total",
    "HTTP requests answered, by method, route and status.",
  );
  readonly httpRequestSeconds = this.registry.histogram(
    "denka_http_request_duration_seconds",
    "Time to answer an HTTP request (headers ready), by route.",
  );
  readonly flushSeconds = this.registry.histogram(
    "denka_log_flush_duration_seconds",
    "Time of each durable flush (fdatasync, msync MS_SYNC), by syscall.",
  );
  #state: MetricsState | undefined;

  constructor() {
    this.#registerGauges();
  }

  /** Gives the scrape-time gauges the broker to read (set once the broker is built). */
  bind(state: MetricsState): void {
    this.#state = state;
  }

  countIn(topic: string, bytes: number, records: number): void {
    this.bytesIn.inc({ topic }, bytes);
    this.recordsIn.inc({ topic }, records);
  }

  countOut(topic: string, bytes: number, records: number): void {
    this.bytesOut.inc({ topic }, bytes);
    this.recordsOut.inc({ topic }, records);
  }

  /** Drops a deleted topic's traffic series. */
  forgetTopic(topic: string): void {
    for (const c of [this.bytesIn, this.recordsIn, this.bytesOut, this.recordsOut]) {
      c.remove((labels) => labels.topic === topic);
    }
  }

  /** The router's observer: API counts and latency (traffic comes through {@linkcode countIn} / {@linkcode countOut}). */
  observeKafka = (info: RequestInfo, elapsedMs: number) => {
    const api = apiTable[info.apiKey]?.name ?? String(info.apiKey);
    this.kafkaRequests.inc({ api, api_key: String(info.apiKey) });
    this.kafkaRequestSeconds.observe(elapsedMs / 1000, { api });
  };

  /** `libc` with its durable flushes timed into {@linkcode flushSeconds}; every other call untouched. */
  timedLibc(libc: Libc): Libc {
    const timed = Object.create(libc) as Libc & {
      fdatasync: Libc["fdatasync"];
      fdatasyncAsync: Libc["fdatasyncAsync"];
    };
    const histogram = this.flushSeconds;
    timed.fdatasync = (fd) => {
      const startedMs = performance.now();
      try {
        libc.fdatasync(fd);
      } finally {
        histogram.observe((performance.now() - startedMs) / 1000, { syscall: "fdatasync" });
      }
    };
    const timedAsync =
      (syscall: string, call: (fd: number) => Promise<void>) => async (fd: number) => {
        const startedMs = performance.now();
        try {
          await call(fd);
        } finally {
          histogram.observe((performance.now() - startedMs) / 1000, { syscall });
        }
      };
    timed.fdatasyncAsync = timedAsync("fdatasync", (fd) => libc.fdatasyncAsync(fd));
    timed.msync = (mapping, offsetBytes, lengthBytes, flags) => {
      const startedMs = performance.now();
      try {
        libc.msync(mapping, offsetBytes, lengthBytes, flags);
      } finally {
        if ((flags & MsyncFlags.MS_SYNC) !== 0) {
          histogram.observe((performance.now() - startedMs) / 1000, { syscall: "msync" });
        }
      }
    };
    return timed;
  }

  /** The text exposition format. */
  render(): string {
    return this.registry.render();
  }

  #gauge(name: string, help: string, collect: (s: MetricsState) => GaugeSample[], counter = false) {
    this.registry.gauge(
      name,
      help,
      () => this.#state === undefined ? [] : collect(this.#state),
      counter ? "counter" : "gauge",
    );
  }

  #registerGauges(): void {
    const one = (value: number) => [{ labels: {}, value }];
    this.#gauge(
      "denka_ready",
      "1 once recovery finished and the Kafka listener is bound.",
      (s) => one(s.isReady() ? 1 : 0),
    );
    this.#gauge(
      "denka_connections_open",
      "Open Kafka client connections.",
      (s) => one(s.connectionCount()),
    );
    this.#gauge(
      "denka_connections_accepted_total",
      "Kafka connections accepted.",
      (s) => one(s.broker.counters.connectionsAccepted),
      true,
    );
    this.#gauge(
      "denka_fetch_sent_bytes_total",
      "Record bytes fetched by Kafka clients, by path (sendfile or copy).",
      (s) => [
        { labels: { path: "sendfile" }, value: s.broker.counters.sendfileBytes },
        { labels: { path: "copy" }, value: s.broker.counters.copyBytes },
      ],
      true,
    );
    this.#gauge(
      "denka_sendfile_calls_total",
      "sendfile(2) calls.",
      (s) => one(s.broker.counters.sendfileCalls),
      true,
    );
    this.#registerSaslGauges();
    this.#registerPartitionGauges();
    this.#registerDiskGauges();
    this.#registerBackgroundGauges();
    this.#registerGroupGauges();
    this.#registerClusterGauges();
    this.#registerTransactionGauges();
  }

  /** Controller state and partition health in a cluster (nothing on a single node). */
  #registerClusterGauges(): void {
    const health = (s: MetricsState): ClusterHealth | undefined =>
      s.broker.cluster === undefined ? undefined : clusterHealth(
        s.broker.cluster,
        Number(s.broker.topics.defaults["min.insync.replicas"] ?? 1),
      );
    const gauges: [string, string, keyof ClusterHealth][] = [
      [
        "denka_controller_active",
        "1 when this broker is the active controller.",
        "activeController",
      ],
      ["denka_controller_epoch", "The controller epoch this broker sees.", "controllerEpoch"],
      ["denka_cluster_brokers", "Live brokers registered in etcd.", "liveBrokers"],
      ["denka_offline_partitions", "Partitions without a live leader.", "offlinePartitions"],
      [
        "denka_under_replicated_partitions",
        "Partitions led here whose ISR is smaller than their replicas.",
        "underReplicatedPartitions",
      ],
      [
        "denka_under_min_isr_partitions",
        "Partitions led here whose ISR is smaller than min.insync.replicas.",
        "underMinIsrPartitions",
      ],
    ];
    for (const [name, help, field] of gauges) {
      this.#gauge(name, help, (s) => {
        const h = health(s);
        return h === undefined ? [] : [{ labels: {}, value: h[field] }];
      });
    }
  }

  #registerTransactionGauges(): void {
    this.#gauge(
      "denka_transactions_ended_total",
      "Transactions completed by the coordinator: commit, abort (timed-out ones included), timeout.",
      (s) => {
        const c = (s.broker.clusterTransactions ?? s.broker.transactions).counters;
        return [
          { labels: { outcome: "commit" }, value: c.commits },
          { labels: { outcome: "abort" }, value: c.aborts },
          { labels: { outcome: "timeout" }, value: c.timeouts },
        ];
      },
      true,
    );
    this.#gauge(
      "denka_transactions_open",
      "Transactional ids with a transaction not yet complete (Ongoing or Prepare*).",
      (s) => [{
        labels: {},
        value: (s.broker.clusterTransactions ?? s.broker.transactions).list({
          states: ["Ongoing", "PrepareCommit", "PrepareAbort", "PrepareEpochFence"],
        }).length,
      }],
    );
  }

  /** Kafka's selector metrics of SASL logins (successful-authentication-total, ...). */
  #registerSaslGauges(): void {
    const sasl = (read: (c: BrokerCore["sasl"]["counters"]) => number) => (s: MetricsState) => [
      { labels: {}, value: read(s.broker.sasl.counters) },
    ];
    const families: [string, string, (c: BrokerCore["sasl"]["counters"]) => number][] = [
      ["successful_authentication", "SASL logins that succeeded.", (c) => c.logins],
      ["failed_authentication", "SASL logins refused.", (c) => c.failedLogins],
      [
        "successful_reauthentication",
        "KIP-368 re-authentications that succeeded.",
        (c) => c.reauthentications,
      ],
      [
        "expired_connections_killed",
        "Connections closed because their SASL session expired without re-authentication.",
        (c) => c.expiredSessionsClosed,
      ],
    ];
    for (const [name, help, read] of families) {
      this.#gauge(`denka_${name}_total`, help, sasl(read), true);
    }
  }

  #registerPartitionGauges(): void {
    const perPartition = (read: (p: PartitionLike) => number) => (s: MetricsState) =>
      s.broker.topics.list().flatMap((t) =>
        t.partitions.map((p) => ({
          labels: { topic: t.name, partition: String(p.index) },
          value: read(p.log),
        }))
      );
    this.#gauge(
      "denka_partition_high_watermark",
      "High watermark (the next offset), by partition.",
      perPartition((log) => log.highWatermark),
    );
    this.#gauge(
      "denka_partition_last_stable_offset",
      "Last stable offset (what read_committed consumers can reach), by partition.",
      perPartition((log) => log.lastStableOffset),
    );
    this.#gauge(
      "denka_partition_log_start_offset",
      "First offset still in the log, by partition.",
      perPartition((log) => log.logStartOffset),
    );
    this.#gauge(
      "denka_partition_size_bytes",
      "Bytes of the partition's segments.",
      perPartition((log) => log.sizeBytes),
    );
    this.#gauge(
      "denka_partition_segments",
      "Segments of the partition.",
      perPartition((log) => log.segmentCount),
    );
  }

  #registerDiskGauges(): void {
    this.#gauge("denka_log_segments", "Segments of every partition.", (s) => {
      let n = 0;
      for (const t of s.broker.topics.list()) {
        for (const p of t.partitions) n += p.log.segmentCount;
      }
      return [{ labels: {}, value: n }];
    });
    this.#gauge("denka_log_size_bytes", "Bytes of every segment of every partition.", (s) => {
      let n = 0;
      for (const t of s.broker.topics.list()) for (const p of t.partitions) n += p.log.sizeBytes;
      return [{ labels: {}, value: n }];
    });
    this.#gauge(
      "denka_disk_free_bytes",
      "Bytes available to the broker on the data directory's filesystem (statfs).",
      (s) => diskStat(s.broker.config.dataDir, "free"),
    );
    this.#gauge(
      "denka_disk_total_bytes",
      "Size of the data directory's filesystem (statfs).",
      (s) => diskStat(s.broker.config.dataDir, "total"),
    );
  }

  #registerBackgroundGauges(): void {
    this.#gauge(
      "denka_log_cleaner_uncleanable_partitions",
      "Partitions the log cleaner gave up on after their compaction failed (Kafka's uncleanable-partitions-count); the log says why.",
      (s) => [{ labels: {}, value: s.broker.maintenance.uncleanablePartitions().length }],
    );
    this.#gauge(
      "denka_background_task_failures_total",
      "Errors of background work (retention, compaction, flushes, timers) logged and contained, by task.",
      (s) => [...s.broker.background.failures].map(([task, n]) => ({ labels: { task }, value: n })),
      true,
    );
  }

  #registerGroupGauges(): void {
    this.#gauge(
      "denka_group_members",
      "Members of a consumer group.",
      (s) =>
        s.groups.listGroups().map((g) => ({
          labels: { group: g.groupId, state: g.state },
          value: g.members.length,
        })),
    );
    const perOffset =
      (read: (lag: { committedOffset: number; lag: number }) => number) => (s: MetricsState) =>
        s.groups.listGroups().flatMap((g) =>
          groupLags(g, s.broker.topics).map((l) => ({
            labels: { group: g.groupId, topic: l.topic, partition: String(l.partition) },
            value: read(l),
          }))
        );
    this.#gauge(
      "denka_group_committed_offset",
      "Committed offset of a consumer group, by partition.",
      perOffset((l) => l.committedOffset),
    );
    this.#gauge(
      "denka_group_lag",
      "High watermark minus committed offset, by group and partition.",
      perOffset((l) => l.lag),
    );
  }
}

interface PartitionLike {
  readonly highWatermark: number;
  readonly lastStableOffset: number;
  readonly logStartOffset: number;
  readonly sizeBytes: number;
  readonly segmentCount: number;
}

function diskStat(path: string, which: "free" | "total"): GaugeSample[] {
  try {
    const s = statfsSync(path);
    const blocks = which === "free" ? s.bavail : s.blocks;
    return [{ labels: { path }, value: Number(blocks) * Number(s.bsize) }];
  } catch {
    return []; // an in-memory libc's data directory does not exist on disk
  }
}
