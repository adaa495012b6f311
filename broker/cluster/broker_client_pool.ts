/**
 * One {@linkcode BrokerClient} per peer broker for the coordinators' own
 * inter-broker requests (transaction markers, KIP-890 verification), kept
 * open between requests and dropped when it fails, so the next request
 * connects again (to the address the metadata then has). Every request is
 * bounded by `requestTimeoutMs`: a peer that stops answering closes its
 * connection.
 *
 * @module
 */
import type { Runtime, TlsClientOptions } from "../../ffi/port.ts";
import type { ApiMessage } from "../../protocol/messages/mod.ts";
import { BrokerClient } from "./broker_client.ts";
import type { InterBrokerSasl } from "./inter_broker_login.ts";

/** Where a peer takes inter-broker connections. */
export interface PeerEndpoint {
  readonly host: string;
  readonly port: number;
}

/** Options of {@linkcode BrokerClientPool}. */
export interface BrokerClientPoolOptions {
  readonly runtime: Pick<Runtime, "connect">;
  readonly clientId: string;
  /** The inter-broker endpoint of a live broker, or undefined. */
  readonly endpoint: (nodeId: number) => PeerEndpoint | undefined;
  readonly requestTimeoutMs: number;
  /** The inter-broker listener's SASL login and TLS trust, as the replica fetchers use them. */
  readonly sasl?: InterBrokerSasl;
  readonly tls?: TlsClientOptions;
}

/** See the module doc. */
export class BrokerClientPool {
  readonly #options: BrokerClientPoolOptions;
  readonly #clients = new Map<number, { endpoint: PeerEndpoint; client: Promise<BrokerClient> }>();
  #closed = false;

  constructor(options: BrokerClientPoolOptions) {
    this.#options = options;
  }

  /** Sends a request to broker `nodeId`; rejects on a connection error or timeout. */
  async request<Req, Res>(
    nodeId: number,
    api: ApiMessage<Req, Res>,
    version: number,
    body: Req,
  ): Promise<Res> {
    const client = await this.#client(nodeId);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        client.close(`No answer from broker ${nodeId} within ${this.#options.requestTimeoutMs} ms`);
        reject(new Error(`Request to broker ${nodeId} timed out.`));
      }, this.#options.requestTimeoutMs);
    });
    try {
      return await Promise.race([client.request(api, version, body), timeout]);
    } catch (error) {
      this.#drop(nodeId, client);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes every connection; later requests reject. */
  close(): void {
    this.#closed = true;
    for (const { client } of this.#clients.values()) {
      client.then((c) => c.close("The pool is closed"), () => {});
    }
    this.#clients.clear();
  }

  #client(nodeId: number): Promise<BrokerClient> {
    if (this.#closed) return Promise.reject(new Error("The broker client pool is closed."));
    const endpoint = this.#options.endpoint(nodeId);
    if (endpoint === undefined) {
      return Promise.reject(new Error(`Broker ${nodeId} is not live.`));
    }
    const known = this.#clients.get(nodeId);
    if (
      known !== undefined && known.endpoint.host === endpoint.host &&
      known.endpoint.port === endpoint.port
    ) {
      return known.client.then((c) => c.closed ? this.#connect(nodeId, endpoint) : c);
    }
    known?.client.then((c) => c.close("The broker moved"), () => {});
    return this.#connect(nodeId, endpoint);
  }

  #connect(nodeId: number, endpoint: PeerEndpoint): Promise<BrokerClient> {
    const { runtime, clientId, sasl, tls, requestTimeoutMs } = this.#options;
    const client = BrokerClient.connect(runtime, endpoint, clientId, {
      sasl,
      tls,
      loginTimeoutMs: requestTimeoutMs,
    });
    this.#clients.set(nodeId, { endpoint, client });
    client.catch(() => {
      if (this.#clients.get(nodeId)?.client === client) this.#clients.delete(nodeId);
    });
    return client;
  }

  #drop(nodeId: number, client: BrokerClient): void {
    client.close("Dropped after a failed request");
    const known = this.#clients.get(nodeId);
    known?.client.then((c) => {
      if (c === client && this.#clients.get(nodeId) === known) this.#clients.delete(nodeId);
    }, () => {});
  }
}
