/**
 * The broker's lifecycle: open the data directory, bind the Kafka listener,
 * accept connections, route frames to handlers, and stop cleanly (listener
 * closed, connections closed, every log flushed and closed).
 *
 * @module
 */
import type { Libc, Listener, Runtime } from "../ffi/port.ts";
import { loadLibc, loadRuntime } from "../ffi/load.ts";
import { createLogger, type Logger } from "../util/log.ts";
import { AppendWaiters } from "./append_waiters.ts";
import type { BrokerConfig, HostPort } from "./config.ts";
import { Connection } from "./connection.ts";
import type { BrokerCore, BrokerCounters } from "./context.ts";
import { RequestRouter } from "./router.ts";
import { createSender } from "./send.ts";
import { type Topic, TopicRegistry } from "./topics.ts";
import { KafkaError } from "./kafka_error.ts";
import { ProducerIds } from "./producer_ids.ts";

/** Ports the broker runs on; tests may pass their own. */
export interface BrokerDeps {
  readonly libc?: Libc;
  readonly runtime?: Runtime;
  readonly logger?: Logger;
  readonly nowMs?: () => number;
}

/** A running broker. */
export class Broker implements BrokerCore {
  readonly config: BrokerConfig;
  readonly libc: Libc;
  readonly topics: TopicRegistry;
  readonly waiters = new AppendWaiters();
  readonly logger: Logger;
  readonly producerIds: ProducerIds;
  readonly counters: BrokerCounters = {
    sendfileBytes: 0,
    copyBytes: 0,
    sendfileCalls: 0,
    wouldBlock: 0,
    requests: 0,
    connectionsAccepted: 0,
    connectionsClosedForBadFrames: 0,
  };
  readonly #runtime: Runtime;
  readonly #router: RequestRouter;
  readonly #connections = new Set<Connection>();
  readonly #nowMs: () => number;
  #listener: Listener | undefined;
  #nextConnectionId = 1;
  #closing: Promise<void> | undefined;

  private constructor(config: BrokerConfig, libc: Libc, runtime: Runtime, deps: BrokerDeps) {
    this.config = config;
    this.libc = libc;
    this.#runtime = runtime;
    this.logger = deps.logger ?? createLogger(config.logLevel);
    this.#nowMs = deps.nowMs ?? Date.now;
    this.topics = TopicRegistry.open(libc, {
      dataDir: config.dataDir,
      defaults: config.topicDefaults,
      writerKind: config.writerKind,
      logger: this.logger,
    });
    this.producerIds = new ProducerIds(libc, config.dataDir);
    this.#router = new RequestRouter(this);
  }

  /** Opens the data directory and binds the listener. */
  static async start(config: BrokerConfig, deps: BrokerDeps = {}): Promise<Broker> {
    const startedMs = performance.now();
    const libc = deps.libc ?? await loadLibc();
    const runtime = deps.runtime ?? await loadRuntime();
    const broker = new Broker(config, libc, runtime, deps);
    try {
      broker.#listener = await runtime.listen(config.listen, (socket) => {
        const connection = new Connection(socket, {
          id: broker.#nextConnectionId++,
          handler: broker.#router,
          sender: createSender(socket, libc, {
            fetchPath: config.fetchPath,
            counters: broker.counters,
          }),
          logger: broker.logger,
          requestSizeBytesMax: config.requestSizeBytesMax,
          onClosed: (c) => broker.#connections.delete(c),
        });
        broker.counters.connectionsAccepted++;
        broker.#connections.add(connection);
        return connection;
      });
    } catch (e) {
      broker.topics.close();
      throw e;
    }
    const tookMs = (performance.now() - startedMs).toFixed(1);
    broker.logger.info(
      `Denka listening on ${broker.address.hostname}:${broker.address.port} (${runtime.name} ${runtime.version}, data ${config.dataDir}, ${broker.topics.list().length} topic(s), writer ${config.writerKind}, fetch ${config.fetchPath}, started in ${tookMs} ms)`,
    );
    return broker;
  }

  /** The bound address (the real port when `port: 0` was asked for). */
  get address(): HostPort {
    const l = this.#listener;
    if (l === undefined) throw new Error("The broker is not listening.");
    return { hostname: l.hostname, port: l.port };
  }

  advertised(): HostPort {
    if (this.config.advertise !== undefined) return this.config.advertise;
    const { hostname, port } = this.address;
    const wildcard = hostname === "0.0.0.0" || hostname === "::";
    return { hostname: wildcard ? "127.0.0.1" : hostname, port };
  }

  nowMs(): number {
    return this.#nowMs();
  }

  topicForUse(name: string): Topic | undefined {
    const existing = this.topics.get(name);
    if (existing !== undefined || !this.config.autoCreateTopics) return existing;
    try {
      return this.topics.create(name, this.config.defaultPartitions);
    } catch (e) {
      if (e instanceof KafkaError) return undefined;
      throw e;
    }
  }

  /** Open client connections. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Stops accepting, closes connections, flushes and closes every log. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#listener?.close();
    const open = [...this.#connections];
    for (const c of open) c.close();
    this.waiters.wakeAll();
    // Requests in progress finish (their sends are dropped) before logs close.
    await Promise.all(open.map((c) => c.idle()));
    this.topics.close();
    this.logger.info("Denka stopped: logs flushed and closed.");
  }
}

/** Starts a broker from a resolved config. */
export function startBrokerWithConfig(config: BrokerConfig, deps?: BrokerDeps): Promise<Broker> {
  return Broker.start(config, deps);
}
