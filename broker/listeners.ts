/**
 * Listeners as Kafka names them: `listeners=PLAINTEXT://127.0.0.1:9092,SASL_SSL://0.0.0.0:9093`,
 * `advertised.listeners` (what Metadata, FindCoordinator and DescribeCluster tell a client who
 * came in on that listener), `listener.security.protocol.map` (a listener's name maps to one of
 * Kafka's four security protocols; by default a listener named like a protocol uses it, and a
 * custom name such as `INTERNAL` needs an entry `INTERNAL:SASL_PLAINTEXT`) and
 * `inter.broker.listener.name` (the listener other brokers use; it must name a listener).
 *
 * Listener names are case-insensitive and normalised to upper case, as Kafka's
 * `ListenerName.normalised` does. `--listen HOST:PORT` remains the short form of one
 * `PLAINTEXT` listener; giving it together with `--listeners` is an error.
 *
 * @module
 */
import type { SecurityProtocol } from "./connection.ts";

/** A host and port (the same shape as `HostPort` in `config.ts`). */
export interface ListenerAddress {
  readonly hostname: string;
  readonly port: number;
}

/** One entry of `listeners` or `advertised.listeners`: `NAME://HOST:PORT`. */
export interface ListenerEndpoint extends ListenerAddress {
  /** The listener's name, upper case (`PLAINTEXT`, `INTERNAL`, ...). */
  readonly name: string;
}

/** A listener the broker binds, with its security protocol and advertised address. */
export interface ListenerConfig extends ListenerEndpoint {
  readonly securityProtocol: SecurityProtocol;
  /**
   * What clients who connect through this listener are told to use; `undefined`: the bound
   * address (127.0.0.1 in place of a wildcard). Port 0 also stands for the bound port.
   */
  readonly advertised: ListenerAddress | undefined;
}

/** Kafka's four security protocols. */
export const SECURITY_PROTOCOLS: readonly SecurityProtocol[] = [
  "PLAINTEXT",
  "SSL",
  "SASL_PLAINTEXT",
  "SASL_SSL",
];

/** Kafka's default `listener.security.protocol.map`: each protocol's name maps to itself. */
export const DEFAULT_SECURITY_PROTOCOL_MAP = "PLAINTEXT:PLAINTEXT,SSL:SSL," +
  "SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL";

/** The listener `--listen` stands for. */
export const DEFAULT_LISTENER_NAME = "PLAINTEXT";

/** A listener setting that cannot be used, with a sentence saying why. */
export class ListenerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ListenerConfigError";
  }
}

/** True for SSL and SASL_SSL: the listener speaks TLS. */
export function usesTls(protocol: SecurityProtocol): boolean {
  return protocol === "SSL" || protocol === "SASL_SSL";
}

/** True for SASL_PLAINTEXT and SASL_SSL: clients authenticate with SASL first. */
export function usesSasl(protocol: SecurityProtocol): boolean {
  return protocol === "SASL_PLAINTEXT" || protocol === "SASL_SSL";
}

// Kafka's own pattern (`SocketServerConfigs.LISTENER_URI`-style): NAME://host:port, IPv6 in brackets.
const ENDPOINT_PATTERN = /^([A-Za-z0-9_-]+):\/\/(\[[0-9A-Fa-f:.%]+\]|[^:/\[\]]*):(\d{1,5})$/;

/** Parses a `listeners` or `advertised.listeners` value; `key` names the setting in errors. */
export function parseListenerList(value: string, key: string): ListenerEndpoint[] {
  const endpoints: ListenerEndpoint[] = [];
  for (const raw of value.split(",")) {
    const item = raw.trim();
    if (item === "") continue;
    const m = ENDPOINT_PATTERN.exec(item);
    const port = m === null ? NaN : Number(m[3]);
    if (m === null || port > 65535) {
      throw new ListenerConfigError(
        `Option "${key}" wants NAME://HOST:PORT entries separated by commas, got "${item}".`,
      );
    }
    const name = m[1].toUpperCase();
    if (endpoints.some((e) => e.name === name)) {
      throw new ListenerConfigError(
        `Option "${key}" names listener "${name}" twice: each listener needs its own name.`,
      );
    }
    endpoints.push({ name, hostname: m[2].replace(/^\[|\]$/g, ""), port });
  }
  if (endpoints.length === 0) {
    throw new ListenerConfigError(`Option "${key}" lists no listener.`);
  }
  return endpoints;
}

/** Parses `listener.security.protocol.map` (`NAME:PROTOCOL,...`). */
export function parseSecurityProtocolMap(value: string): Map<string, SecurityProtocol> {
  const map = new Map<string, SecurityProtocol>();
  for (const raw of value.split(",")) {
    const item = raw.trim();
    if (item === "") continue;
    const colon = item.indexOf(":");
    const name = item.slice(0, colon).trim().toUpperCase();
    const protocol = item.slice(colon + 1).trim().toUpperCase() as SecurityProtocol;
    if (colon <= 0 || !SECURITY_PROTOCOLS.includes(protocol)) {
      throw new ListenerConfigError(
        `Option "listener.security.protocol.map" wants NAME:PROTOCOL entries (PROTOCOL one of ${
          SECURITY_PROTOCOLS.join(", ")
        }), got "${item}".`,
      );
    }
    if (map.has(name)) {
      throw new ListenerConfigError(
        `Option "listener.security.protocol.map" maps listener "${name}" twice.`,
      );
    }
    map.set(name, protocol);
  }
  return map;
}

/** The listener settings as given (undefined: not set anywhere). */
export interface ListenerSettings {
  /** `--listen HOST:PORT`, the short form of one PLAINTEXT listener. */
  readonly listen?: string;
  /** `--advertise HOST:PORT`, the short form's advertised address. */
  readonly advertise?: string;
  readonly listeners?: string;
  readonly advertisedListeners?: string;
  readonly securityProtocolMap?: string;
  readonly interBrokerListenerName?: string;
}

/** The resolved listeners. */
export interface ResolvedListeners {
  /** In the order given; the first is the one `bootstrap` and the start-up log name first. */
  readonly listeners: readonly ListenerConfig[];
  /** Kafka's inter.broker.listener.name: always the name of one of `listeners`. */
  readonly interBrokerListenerName: string;
}

/**
 * Resolves the listener settings: `--listen` (default `127.0.0.1:9092`) or `listeners`, their
 * protocols through the map, their advertised addresses, and the inter-broker listener
 * (default: `PLAINTEXT` when there is one, else the first listener; Kafka's default is
 * `PLAINTEXT` alone, which a broker with only TLS listeners would have to override).
 */
export function resolveListeners(
  settings: ListenerSettings,
  defaultListen: string,
): ResolvedListeners {
  if (settings.listen !== undefined && settings.listeners !== undefined) {
    throw new ListenerConfigError(
      `Options "listen" ("${settings.listen}") and "listeners" ("${settings.listeners}") are both set: ` +
        `"listen" is the short form of one PLAINTEXT listener, give one or the other.`,
    );
  }
  if (settings.advertise !== undefined && settings.advertisedListeners !== undefined) {
    throw new ListenerConfigError(
      `Options "advertise" and "advertised.listeners" are both set: give one or the other.`,
    );
  }
  if (settings.advertise !== undefined && settings.listeners !== undefined) {
    throw new ListenerConfigError(
      `Option "advertise" goes with "listen"; with "listeners" use "advertised.listeners".`,
    );
  }
  const endpoints = settings.listeners !== undefined
    ? parseListenerList(settings.listeners, "listeners")
    : parseListenerList(`${DEFAULT_LISTENER_NAME}://${settings.listen ?? defaultListen}`, "listen");
  checkDistinctPorts(endpoints);
  const protocols = parseSecurityProtocolMap(
    settings.securityProtocolMap ?? DEFAULT_SECURITY_PROTOCOL_MAP,
  );
  const advertised = advertisedAddresses(settings, endpoints);
  const listeners = endpoints.map((e): ListenerConfig => {
    const securityProtocol = protocols.get(e.name);
    if (securityProtocol === undefined) {
      throw new ListenerConfigError(
        `Listener "${e.name}" has no security protocol: add "${e.name}:PROTOCOL" to ` +
          `"listener.security.protocol.map" (PROTOCOL one of ${SECURITY_PROTOCOLS.join(", ")}).`,
      );
    }
    // An empty host binds every interface, as in Kafka.
    const hostname = e.hostname === "" ? "0.0.0.0" : e.hostname;
    return { ...e, hostname, securityProtocol, advertised: advertised.get(e.name) };
  });
  return { listeners, interBrokerListenerName: interBrokerListener(settings, listeners) };
}

/** Two listeners cannot bind one port (port 0, a free one each, excepted). */
function checkDistinctPorts(endpoints: readonly ListenerEndpoint[]): void {
  for (const [i, e] of endpoints.entries()) {
    const twin = endpoints.slice(0, i).find((o) => o.port === e.port && o.port !== 0);
    if (twin !== undefined) {
      throw new ListenerConfigError(
        `Listeners "${twin.name}" and "${e.name}" both use port "${e.port}": each listener needs its own port.`,
      );
    }
  }
}

/** Advertised addresses by listener name, from `advertised.listeners` or `--advertise`. */
function advertisedAddresses(
  settings: ListenerSettings,
  endpoints: readonly ListenerEndpoint[],
): Map<string, ListenerAddress> {
  const byName = new Map<string, ListenerAddress>();
  if (settings.advertise !== undefined) {
    const [entry] = parseListenerList(
      `${endpoints[0].name}://${settings.advertise}`,
      "advertise",
    );
    byName.set(entry.name, entry);
  }
  if (settings.advertisedListeners !== undefined) {
    for (const entry of parseListenerList(settings.advertisedListeners, "advertised.listeners")) {
      if (!endpoints.some((e) => e.name === entry.name)) {
        throw new ListenerConfigError(
          `Option "advertised.listeners" names listener "${entry.name}", which "listeners" does not define.`,
        );
      }
      byName.set(entry.name, entry);
    }
  }
  for (const [name, address] of byName) {
    if (address.hostname === "0.0.0.0" || address.hostname === "::") {
      throw new ListenerConfigError(
        `Listener "${name}" advertises "${address.hostname}", a wildcard address no client can connect to.`,
      );
    }
    if (address.hostname === "") byName.delete(name); // empty host: the bound address
  }
  return byName;
}

function interBrokerListener(
  settings: ListenerSettings,
  listeners: readonly ListenerConfig[],
): string {
  const given = settings.interBrokerListenerName?.trim().toUpperCase();
  if (given === undefined || given === "") {
    return listeners.find((l) => l.name === DEFAULT_LISTENER_NAME)?.name ?? listeners[0].name;
  }
  if (!listeners.some((l) => l.name === given)) {
    throw new ListenerConfigError(
      `Option "inter.broker.listener.name" is "${given}", which is not a listener (listeners: ${
        listeners.map((l) => l.name).join(", ")
      }).`,
    );
  }
  return given;
}

/** The address to advertise for `listener` bound at `bound`: wildcards become 127.0.0.1. */
export function advertisedAddress(
  listener: ListenerConfig,
  bound: ListenerAddress,
): ListenerAddress {
  const a = listener.advertised;
  if (a !== undefined) return { hostname: a.hostname, port: a.port === 0 ? bound.port : a.port };
  const wildcard = bound.hostname === "0.0.0.0" || bound.hostname === "::";
  return { hostname: wildcard ? "127.0.0.1" : bound.hostname, port: bound.port };
}

/** `NAME://HOST:PORT` (IPv6 in brackets). */
export function formatEndpoint(name: string, address: ListenerAddress): string {
  const host = address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname;
  return `${name}://${host}:${address.port}`;
}
