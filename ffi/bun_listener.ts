/**
 * The Bun listener behind {@linkcode Runtime.listen}: `Bun.listen` for TCP
 * and for TLS (BoringSSL; TLS 1.2 and 1.3), each socket behind the
 * {@linkcode Socket} port. Over TLS a socket reports no fd (sendfile cannot
 * encrypt), and Kafka's `ssl.client.auth` becomes `requestCert` /
 * `rejectUnauthorized` plus a check of what the handshake established.
 *
 * Only Bun evaluates this file (through `ffi/bun.ts`); the parts of Bun's
 * API it uses are typed here.
 *
 * @module
 */
import type {
  Listener,
  Socket,
  SocketHandlers,
  TlsClientOptions,
  TlsServerOptions,
} from "./port.ts";

/** The part of a `Bun.listen` socket used here. */
export interface BunTcpSocket {
  readonly fd: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  data: BunSocket | undefined;
  write(bytes: Uint8Array): number;
  setNoDelay(enabled: boolean): boolean;
  end(): void;
  /** Stops polling the socket for reading (Bun 1.4: in the TCP socket type, undocumented). */
  pause(): void;
  resume(): void;
  /** TLS: the peer's certificate chains to the CA (false without a certificate). */
  readonly authorized?: boolean;
  /** TLS: the peer's certificate, `undefined` when it sent none. */
  getPeerX509Certificate?(): { readonly raw: Uint8Array } | undefined;
}

/** Bun's TLS options of a listener (the part used here). */
export interface BunTlsOptions {
  cert: string;
  key: string;
  ca?: string;
  requestCert: boolean;
  rejectUnauthorized: boolean;
}

export interface BunServer {
  readonly hostname: string;
  readonly port: number;
  stop(closeActiveConnections?: boolean): void;
}

/** `Bun.listen`, the part used here. */
export type BunListen = (options: {
  hostname: string;
  port: number;
  tls?: BunTlsOptions;
  socket: {
    open(s: BunTcpSocket): void;
    data(s: BunTcpSocket, chunk: Uint8Array): void;
    drain(s: BunTcpSocket): void;
    close(s: BunTcpSocket, error?: Error): void;
    error(s: BunTcpSocket, error: Error): void;
  };
}) => BunServer;

interface PendingWrite {
  bytes: Uint8Array;
  resolve(): void;
  reject(error: Error): void;
}

const closedError = () => new Error("Socket is closed");

/**
 * A `Bun.listen` socket behind the {@linkcode Socket} port. Bun's
 * `socket.write` writes what the kernel takes and buffers nothing, so the
 * rest waits in a queue that the `drain` handler resumes.
 */
class BunSocket implements Socket {
  /** The OS fd for sendfile; `undefined` over TLS (sendfile cannot encrypt). */
  readonly fd: number | undefined;
  readonly remoteAddress: string;
  readonly peerCertificate: Uint8Array | undefined;
  handlers: SocketHandlers | undefined;
  readonly #socket: BunTcpSocket;
  readonly #queue: PendingWrite[] = [];
  #closed = false;

  constructor(socket: BunTcpSocket, tls: { peerCertificate: Uint8Array | undefined } | undefined) {
    this.#socket = socket;
    const hasFd = tls === undefined && Number.isInteger(socket.fd) && socket.fd >= 0;
    this.fd = hasFd ? socket.fd : undefined;
    this.remoteAddress = `${socket.remoteAddress}:${socket.remotePort}`;
    this.peerCertificate = tls?.peerCertificate;
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    if (this.#queue.length === 0) {
      const writtenBytes = bytes.length === 0 ? 0 : this.#socket.write(bytes);
      if (writtenBytes < 0) return Promise.reject(closedError());
      if (writtenBytes === bytes.length) return Promise.resolve();
      bytes = bytes.subarray(writtenBytes);
    }
    return new Promise((resolve, reject) => this.#queue.push({ bytes, resolve, reject }));
  }

  /** Called by the `drain` handler: the socket is writable again. */
  drain(): void {
    while (this.#queue.length > 0 && !this.#closed) {
      const head = this.#queue[0];
      const writtenBytes = this.#socket.write(head.bytes);
      if (writtenBytes < 0) return this.#failQueue();
      if (writtenBytes < head.bytes.length) {
        head.bytes = head.bytes.subarray(writtenBytes);
        return;
      }
      this.#queue.shift();
      head.resolve();
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#failQueue();
    this.#socket.end();
  }

  pause(): void {
    if (!this.#closed) this.#socket.pause();
  }

  resume(): void {
    if (!this.#closed) this.#socket.resume();
  }

  /** Called by the `close` handler. */
  closed(error?: Error): void {
    this.#closed = true;
    this.#failQueue(error);
    const handlers = this.handlers;
    this.handlers = undefined; // onClose once
    handlers?.onClose(error);
  }

  #failQueue(error?: Error): void {
    for (const pending of this.#queue.splice(0)) pending.reject(error ?? closedError());
  }
}

/** Bun's TLS options for `tls` (Kafka's ssl.client.auth as requestCert / rejectUnauthorized). */
function bunTls(tls: TlsServerOptions): BunTlsOptions {
  return {
    cert: tls.certPem,
    key: tls.keyPem,
    ...(tls.caPem === undefined ? {} : { ca: tls.caPem }),
    requestCert: tls.clientAuth !== "none",
    rejectUnauthorized: tls.clientAuth === "required",
  };
}

/**
 * What a TLS socket's handshake established: its verified client
 * certificate, or `undefined` for a socket to refuse. Bun opens the socket
 * after the handshake even when a required certificate was missing, so both
 * policies are checked here: `required` needs a certificate that verified;
 * `requested` refuses one that did not verify and accepts none.
 */
function tlsPeer(
  s: BunTcpSocket,
  clientAuth: TlsServerOptions["clientAuth"],
): { peerCertificate: Uint8Array | undefined } | undefined {
  if (clientAuth === "none") return { peerCertificate: undefined };
  let cert: { readonly raw: Uint8Array } | undefined;
  try {
    cert = s.getPeerX509Certificate?.();
  } catch {
    cert = undefined;
  }
  if (cert === undefined) return clientAuth === "required" ? undefined : { peerCertificate: cert };
  return s.authorized === true ? { peerCertificate: new Uint8Array(cert.raw) } : undefined;
}

/**
 * `Bun.listen`, over TLS with `options.tls`. A TLS reload stops the server
 * (open sockets stay) and listens again on the same address in the same
 * turn: Bun binds a listener's certificate when it is created. A refused
 * certificate rebinds the old one.
 */
export function bunListen(
  listen: BunListen,
  options: { hostname: string; port: number; tls?: TlsServerOptions },
  onAccept: (socket: Socket) => SocketHandlers,
): Listener {
  let tls = options.tls;
  const socket = {
    open(s: BunTcpSocket) {
      s.setNoDelay(true);
      const peer = tls === undefined ? undefined : tlsPeer(s, tls.clientAuth);
      if (tls !== undefined && peer === undefined) return s.end(); // no valid certificate
      const socket = new BunSocket(s, peer);
      s.data = socket;
      socket.handlers = onAccept(socket);
    },
    data(s: BunTcpSocket, chunk: Uint8Array) {
      s.data?.handlers?.onData(chunk);
    },
    drain(s: BunTcpSocket) {
      s.data?.drain();
    },
    close(s: BunTcpSocket, error?: Error) {
      s.data?.closed(error);
    },
    error(s: BunTcpSocket, error: Error) {
      s.data?.close();
      s.data?.closed(error);
    },
  };
  const bind = (address: { hostname: string; port: number }, t: TlsServerOptions | undefined) =>
    listen({ ...address, ...(t === undefined ? {} : { tls: bunTls(t) }), socket });
  let server = bind(options, tls);
  const bound = { hostname: server.hostname, port: server.port };
  let closed = false;
  const handle: Listener = {
    ...bound,
    close: () => {
      closed = true;
      server.stop(false);
      return Promise.resolve();
    },
  };
  if (tls === undefined) return handle;
  return {
    ...handle,
    reloadTls(next: TlsServerOptions): Promise<void> {
      if (closed) return Promise.reject(new Error("The listener is closed."));
      server.stop(false);
      try {
        server = bind(bound, next);
      } catch (error) {
        server = bind(bound, tls); // the certificate that worked until now
        return Promise.reject(error);
      }
      tls = next;
      return Promise.resolve();
    },
  };
}

/** `Bun.connect` (TCP, or TLS with `tls`), the part used here. */
export type BunConnect = (options: {
  hostname: string;
  port: number;
  /** `true`: the system's roots; `ca`: PEM CA certificates to trust instead. */
  tls?: true | { ca: string; serverName: string };
  socket: {
    open(s: BunTcpSocket): void;
    /** TLS only: the handshake finished; `authorizationError` when the certificate is refused. */
    handshake?(s: BunTcpSocket, success: boolean, authorizationError: Error | null): void;
    data(s: BunTcpSocket, chunk: Uint8Array): void;
    drain(s: BunTcpSocket): void;
    close(s: BunTcpSocket, error?: Error): void;
    error(s: BunTcpSocket, error: Error): void;
  };
}) => Promise<BunTcpSocket>;

/**
 * An outbound TCP connection (`Bun.connect`) behind the {@linkcode Socket} port, the same
 * socket a listener gives (Runtime.connect: a follower's fetcher to its leader).
 */
export async function bunConnect(
  connect: BunConnect,
  options: { hostname: string; port: number; tls?: TlsClientOptions },
  onOpen: (socket: Socket) => SocketHandlers,
): Promise<Socket> {
  let failed: Error | undefined;
  const { hostname, port, tls } = options;
  const s = await connect({
    hostname,
    port,
    tls: tls === undefined
      ? undefined
      : tls.caPem === undefined
      ? true
      : { ca: tls.caPem, serverName: hostname },
    socket: {
      handshake(s, success, authorizationError) {
        if (success && authorizationError === null) return;
        const error = authorizationError ??
          new Error(`TLS handshake with ${hostname}:${port} failed`);
        if (s.data === undefined) return s.end(); // before open: connect() rejects or closes
        s.data.close();
        s.data.closed(error);
      },
      open(s) {
        s.setNoDelay(true);
        const socket = new BunSocket(
          s,
          tls === undefined ? undefined : { peerCertificate: undefined },
        );
        s.data = socket;
        try {
          socket.handlers = onOpen(socket);
        } catch (error) {
          failed = error instanceof Error ? error : new Error(String(error));
          socket.close();
        }
      },
      data: (s, chunk) => s.data?.handlers?.onData(chunk),
      drain: (s) => s.data?.drain(),
      close: (s, error) => s.data?.closed(error),
      error(s, error) {
        s.data?.close();
        s.data?.closed(error);
      },
    },
  });
  if (failed !== undefined) throw failed;
  return s.data!;
}
