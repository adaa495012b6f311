/**
 * The broker's bound Kafka listeners: one accept loop per listener (the
 * runtime's), each connection stamped with its listener's name and security
 * protocol, the advertised address of each listener, and the TLS reload
 * that SIGHUP triggers.
 *
 * @module
 */
import type {
  Libc,
  Listener,
  Runtime,
  Socket,
  SocketHandlers,
  TlsServerOptions,
} from "../ffi/port.ts";
import type { Logger } from "../util/log.ts";
import type { SecurityProtocol } from "./connection.ts";
import {
  advertisedAddress,
  formatEndpoint,
  type ListenerAddress,
  type ListenerConfig,
  usesTls,
} from "./listeners.ts";
import { certificateExpiry, loadTlsMaterial, TlsMaterialError, type TlsSettings } from "./tls.ts";

/** A listener as bound: its name, protocol and real address (the port when 0 was asked for). */
export interface BoundListener extends ListenerAddress {
  readonly name: string;
  readonly securityProtocol: SecurityProtocol;
}

/** What an accepted socket came through. */
export interface AcceptedVia {
  readonly name: string;
  readonly securityProtocol: SecurityProtocol;
}

/** The outcome of {@linkcode KafkaListeners.reloadTls}. */
export type TlsReloadResult =
  | { readonly reloaded: true; readonly listenerCount: number; readonly validTo: Date }
  | { readonly reloaded: false; readonly reason: string };

interface Bound {
  readonly config: ListenerConfig;
  readonly listener: Listener;
}

/** Thrown at start when a listener's settings need what the runtime cannot do. */
export class ListenerStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ListenerStartError";
  }
}

/** The broker's Kafka listeners, bound together and closed together. */
export class KafkaListeners {
  readonly #bound: Bound[];
  readonly #tls: TlsSettings | undefined;
  readonly #libc: Libc;
  readonly #logger: Logger;

  private constructor(bound: Bound[], tls: TlsSettings | undefined, libc: Libc, logger: Logger) {
    this.#bound = bound;
    this.#tls = tls;
    this.#libc = libc;
    this.#logger = logger;
  }

  /**
   * Binds every listener in `listeners`, TLS ones with the material of `tls`; on any failure
   * the ones already bound are closed again. Throws {@linkcode ListenerStartError} when
   * client certificates are asked for and the runtime cannot verify them.
   */
  static async bind(
    runtime: Runtime,
    listeners: readonly ListenerConfig[],
    options: {
      tls: TlsSettings | undefined;
      libc: Libc;
      logger: Logger;
      onAccept: (socket: Socket, via: AcceptedVia) => SocketHandlers;
    },
  ): Promise<KafkaListeners> {
    const material = tlsMaterialFor(runtime, listeners, options);
    const bound: Bound[] = [];
    try {
      for (const config of listeners) {
        const via = { name: config.name, securityProtocol: config.securityProtocol };
        const tls = material === undefined ? undefined : forListener(config, material);
        const listener = await runtime.listen(
          { hostname: config.hostname, port: config.port, tls },
          (socket) => options.onAccept(socket, via),
        );
        bound.push({ config, listener });
      }
    } catch (e) {
      await Promise.all(bound.map((b) => b.listener.close()));
      throw e;
    }
    if (material !== undefined) {
      const names = listeners.filter((l) => usesTls(l.securityProtocol)).map((l) => l.name);
      options.logger.info(
        `TLS on ${names.join(", ")}: certificate "${options.tls!.certFile}" valid to ${
          certificateExpiry(material).toISOString()
        }, ssl.client.auth ${material.clientAuth}`,
      );
    }
    return new KafkaListeners(bound, options.tls, options.libc, options.logger);
  }

  /** The listeners as bound, in the configured order. */
  list(): BoundListener[] {
    return this.#bound.map(({ config, listener }) => ({
      name: config.name,
      securityProtocol: config.securityProtocol,
      hostname: listener.hostname,
      port: listener.port,
    }));
  }

  /** The address clients of listener `name` are told to use (the first listener's by default). */
  advertised(name?: string): ListenerAddress {
    const b = this.#bound.find((b) => b.config.name === name) ?? this.#bound[0];
    return advertisedAddress(b.config, b.listener);
  }

  /** `NAME://HOST:PORT` of each bound listener, for the start-up log. */
  describe(): string[] {
    return this.list().map((l) => formatEndpoint(l.name, l));
  }

  /**
   * Reads the certificate and key again and gives them to every TLS listener (new
   * connections get them; open ones keep theirs). Material that fails its checks, or that
   * a runtime refuses, leaves the old certificate in place; the result says why.
   */
  async reloadTls(): Promise<TlsReloadResult> {
    const tlsBound = this.#bound.filter((b) => b.listener.reloadTls !== undefined);
    if (this.#tls === undefined || tlsBound.length === 0) {
      const reason = "No TLS listener to reload.";
      this.#logger.info(reason);
      return { reloaded: false, reason };
    }
    let material: TlsServerOptions;
    try {
      material = loadTlsMaterial(this.#libc, this.#tls);
    } catch (e) {
      const reason = `TLS reload failed, the old certificate stays: ${(e as Error).message}`;
      this.#logger.error(reason);
      return { reloaded: false, reason };
    }
    for (const b of tlsBound) {
      try {
        await b.listener.reloadTls!(forListener(b.config, material)!);
      } catch (e) {
        const reason =
          `TLS reload of listener "${b.config.name}" failed, its old certificate stays: ${
            (e as Error).message
          }`;
        this.#logger.error(reason);
        return { reloaded: false, reason };
      }
    }
    const validTo = certificateExpiry(material);
    this.#logger.info(
      `TLS certificate reloaded from "${this.#tls.certFile}" on ${tlsBound.length} listener(s) (valid to ${validTo.toISOString()}).`,
    );
    return { reloaded: true, listenerCount: tlsBound.length, validTo };
  }

  /** Stops accepting on every listener; resolves once every port is released. */
  async close(): Promise<void> {
    await Promise.all(this.#bound.map((b) => b.listener.close()));
  }
}

/**
 * What `listener` gets of `material`: undefined for a plaintext listener, and no client
 * certificates asked for on SASL_SSL (Kafka, KIP-684: the broker-wide ssl.client.auth does
 * not apply to SASL_SSL listeners; SASL authenticates there).
 */
function forListener(
  listener: ListenerConfig,
  material: TlsServerOptions,
): TlsServerOptions | undefined {
  if (!usesTls(listener.securityProtocol)) return undefined;
  return listener.securityProtocol === "SSL" ? material : { ...material, clientAuth: "none" };
}

/** The TLS material for the TLS listeners of `listeners`, or undefined when there is none. */
function tlsMaterialFor(
  runtime: Runtime,
  listeners: readonly ListenerConfig[],
  options: { tls: TlsSettings | undefined; libc: Libc },
): TlsServerOptions | undefined {
  const tls = options.tls;
  if (tls === undefined || !listeners.some((l) => usesTls(l.securityProtocol))) return undefined;
  const asksCertificates = tls.clientAuth !== "none" &&
    listeners.some((l) => l.securityProtocol === "SSL");
  const unsupported = runtime.tlsClientAuthUnsupported;
  if (asksCertificates && unsupported !== undefined) {
    throw new ListenerStartError(
      `Option "ssl.client.auth" is "${tls.clientAuth}", but ${unsupported}: run the broker under Bun, or set ssl.client.auth=none.`,
    );
  }
  try {
    return loadTlsMaterial(options.libc, tls);
  } catch (e) {
    if (e instanceof TlsMaterialError) throw new ListenerStartError(e.message);
    throw e;
  }
}
