/**
 * The transaction coordinator of a Bun test broker (`DENKA_TEST_RUNTIME=bun`,
 * see `bun_broker.ts`), seen through the broker's real surfaces: the HTTP
 * API's transaction routes and `/metrics`. The Bun broker always has an HTTP
 * listener on a free loopback port for this (its `httpUrl` stays undefined
 * unless the test asked for HTTP).
 *
 * The in-process handle's views are synchronous; a subprocess's cannot be, so
 * the suites that run under both read them with the async helpers here:
 * {@linkcode readTransactionCounters} and {@linkcode describeTransaction}.
 *
 * @module
 */
import type { BrokerHandle } from "../../mod.ts";
import type { TxnCounters, TxnView } from "../../broker/transactions/coordinator.ts";
import type { TxnState } from "../../broker/transactions/txn_state.ts";

/** How long `idle()` waits for the markers in flight before it fails. */
const IDLE_TIMEOUT_MS = 30_000;
/** Pause between two looks at the transaction states (no event crosses the process). */
const IDLE_POLL_INTERVAL_MS = 5;

const remotes = new WeakMap<BrokerHandle, RemoteTransactions>();

/** The coordinator of a broker in another process, over its HTTP API. */
export class RemoteTransactions {
  readonly #base: string;

  /** `controlUrl`: `http://host:port` of the broker's HTTP listener. */
  constructor(controlUrl: string, clusterId: string) {
    this.#base = `${controlUrl}/v3/clusters/${encodeURIComponent(clusterId)}/transactions`;
    this.#metricsUrl = `${controlUrl}/metrics`;
  }

  readonly #metricsUrl: string;

  /** Every transaction the coordinator holds. */
  async list(): Promise<TxnView[]> {
    const body = await getJson(this.#base);
    return (body.data as TxnBody[]).map(txnView);
  }

  /** One transaction, or undefined for an unknown id. */
  async describe(transactionalId: string): Promise<TxnView | undefined> {
    const res = await fetch(`${this.#base}/${encodeURIComponent(transactionalId)}`);
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    return txnView(await jsonOf(res) as unknown as TxnBody);
  }

  /** Commits, aborts and timeouts so far, from `denka_transactions_ended_total`. */
  async counters(): Promise<TxnCounters> {
    const text = await readMetricsText(this.#metricsUrl);
    const value = (outcome: string) =>
      metricValue(text, `denka_transactions_ended_total{outcome="${outcome}"}`);
    return { commits: value("commit"), aborts: value("abort"), timeouts: value("timeout") };
  }

  /**
   * Resolves when no transaction is writing markers (no Prepare* state), as the
   * in-process `idle()` does; polls, bounded by {@linkcode IDLE_TIMEOUT_MS}.
   */
  async idle(): Promise<void> {
    const deadline = Date.now() + IDLE_TIMEOUT_MS;
    for (;;) {
      const preparing = (await this.list()).filter((t) => t.state.startsWith("Prepare"));
      if (preparing.length === 0) return;
      if (Date.now() > deadline) {
        throw new Error(
          `Transactions still writing markers after ${IDLE_TIMEOUT_MS} ms: ${
            preparing.map((t) => `"${t.transactionalId}" (${t.state})`).join(", ")
          }`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, IDLE_POLL_INTERVAL_MS));
    }
  }
}

/** Registers `remote` as the coordinator view of the Bun broker `broker`. */
export function registerRemoteTransactions(broker: BrokerHandle, remote: RemoteTransactions): void {
  remotes.set(broker, remote);
}

/** The transaction counters of `broker`: in-process, a copy; under Bun, from `/metrics`. */
export function readTransactionCounters(broker: BrokerHandle): Promise<TxnCounters> {
  const remote = remotes.get(broker);
  if (remote === undefined) return Promise.resolve({ ...broker.transactions.counters });
  return remote.counters();
}

/** One transaction of `broker`: in-process, the coordinator's view; under Bun, the HTTP API's. */
export function describeTransaction(
  broker: BrokerHandle,
  transactionalId: string,
): Promise<TxnView | undefined> {
  const remote = remotes.get(broker);
  if (remote === undefined) return Promise.resolve(broker.transactions.describe(transactionalId));
  return remote.describe(transactionalId);
}

interface TxnBody {
  transactional_id: string;
  state: TxnState;
  producer_id: number;
  producer_epoch: number;
  transaction_timeout_ms: number;
  start_timestamp: number | null;
  last_update_timestamp: number;
  partitions: { topic_name: string; partition_id: number }[];
}

function txnView(body: TxnBody): TxnView {
  const byTopic = new Map<string, number[]>();
  for (const p of body.partitions) {
    const list = byTopic.get(p.topic_name) ?? [];
    list.push(p.partition_id);
    byTopic.set(p.topic_name, list);
  }
  return {
    transactionalId: body.transactional_id,
    state: body.state,
    producerId: body.producer_id,
    producerEpoch: body.producer_epoch,
    transactionTimeoutMs: body.transaction_timeout_ms,
    startTimestampMs: body.start_timestamp ?? -1,
    lastUpdateTimestampMs: body.last_update_timestamp,
    partitions: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
  };
}

async function getJson(url: string): Promise<Record<string, unknown>> {
  return await jsonOf(await fetch(url, { headers: { accept: "application/json" } }));
}

async function jsonOf(res: Response): Promise<Record<string, unknown>> {
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${res.url} answered ${res.status}: ${text}`);
  return JSON.parse(text);
}

/** The text of `GET metricsUrl` (Prometheus' text format); throws on an error status. */
export async function readMetricsText(metricsUrl: string): Promise<string> {
  const res = await fetch(metricsUrl);
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${metricsUrl} answered ${res.status}: ${text}`);
  return text;
}

/** The value of the sample `series` (`name` or `name{labels}`) in metrics `text`; throws when absent. */
export function metricValue(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  if (line === undefined) throw new Error(`No sample "${series}" in /metrics`);
  return Number(line.slice(series.length + 1));
}
