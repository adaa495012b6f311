/**
 * The one seam between Denka and its runtime: a libc port (files, mmap,
 * sendfile) and a network port (listen, write, the OS fd of a socket).
 *
 * Only `ffi/deno.ts` and `ffi/bun.ts` name `Deno.*`, `Bun.*` or `bun:ffi`;
 * everything else takes a {@linkcode Libc} or {@linkcode Runtime} as a
 * parameter, so that `ffi/memory.ts` (an in-memory libc with seeded faults)
 * can stand in for tests.
 *
 * Conventions:
 * - Sizes and positions are plain JS numbers of bytes (safe integers);
 *   bindings convert to BigInt where the FFI fast path wants it.
 * - A failing call throws {@linkcode IoError} with the syscall, errno and
 *   path; there are no `-1` sentinels, except `sendfile`, whose "would
 *   block" is a normal outcome and is returned as `SENDFILE_WOULD_BLOCK`.
 *
 * @module
 */

/** errno values (x86_64 and aarch64 Linux). */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EEXIST: 17,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  EFBIG: 27,
  ENOSPC: 28,
  EPIPE: 32,
  ENOTEMPTY: 39,
  EOPNOTSUPP: 95,
  ECONNRESET: 104,
} as const;

/** Flags for {@linkcode Libc.open}. */
export const OpenFlags = {
  O_RDONLY: 0,
  O_WRONLY: 1,
  O_RDWR: 2,
  O_CREAT: 0o100,
  O_EXCL: 0o200,
  O_TRUNC: 0o1000,
  O_APPEND: 0o2000,
  O_CLOEXEC: 0o2000000,
} as const;

/** `msync` flags. */
export const MsyncFlags = { MS_ASYNC: 1, MS_INVALIDATE: 2, MS_SYNC: 4 } as const;

/** `madvise` advice values. */
export const Madvice = {
  MADV_NORMAL: 0,
  MADV_RANDOM: 1,
  MADV_SEQUENTIAL: 2,
  MADV_WILLNEED: 3,
  MADV_DONTNEED: 4,
  MADV_POPULATE_WRITE: 23,
} as const;

/** `poll` event bits. */
export const PollEvents = { POLLIN: 1, POLLOUT: 4, POLLERR: 8, POLLHUP: 16 } as const;

/** Returned by {@linkcode Libc.sendfile} when the socket's send buffer is full. */
export const SENDFILE_WOULD_BLOCK = -1;

/** An operating error from a libc call: handled at a partition or connection boundary. */
export class IoError extends Error {
  readonly syscall: string;
  readonly errno: number;
  readonly path: string | undefined;
  constructor(syscall: string, errno: number, path?: string) {
    super(
      `${syscall}${path === undefined ? "" : ` "${path}"`} failed: ${
        errnoName(errno)
      } (errno ${errno})`,
    );
    this.name = "IoError";
    this.syscall = syscall;
    this.errno = errno;
    this.path = path;
  }
}

/** The symbolic name of an errno value, e.g. `"ENOSPC"`. */
export function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(Errno)) {
    if (value === errno) return name;
  }
  return `E${errno}`;
}

/**
 * A shared, writable (or read-only) mapping of a file region.
 *
 * `bytes` is a zero-copy view of the mapped memory. After
 * {@linkcode Libc.munmap} it is detached (length 0): touching the memory of an
 * unmapped region would kill the process with SIGSEGV, so bindings detach the
 * ArrayBuffer (`transfer(0)`) before unmapping.
 */
export interface Mapping {
  readonly bytes: Uint8Array;
  readonly lengthBytes: number;
}

/** One entry of {@linkcode Libc.readdir}. */
export interface DirEntry {
  readonly name: string;
  readonly isDirectory: boolean;
}

/**
 * The libc port. Every method is synchronous (a sync FFI call costs 5-25 ns)
 * but {@linkcode Libc.fdatasyncAsync}, which group commit uses so that a
 * flush does not stall the event loop; the other waits in Denka are on
 * sockets, and those go through {@linkcode Socket}.
 */
export interface Libc {
  /** A short name for logs and benchmark reports: `"deno"`, `"bun"`, `"memory"`. */
  readonly kind: string;

  open(path: string, flags: number, mode?: number): number;
  close(fd: number): void;
  /** Reads up to `buf.length` bytes at `positionBytes`; returns bytes read (0 at EOF). */
  pread(fd: number, buf: Uint8Array, positionBytes: number): number;
  /** Writes up to `buf.length` bytes at `positionBytes`; returns bytes written (may be short). */
  pwrite(fd: number, buf: Uint8Array, positionBytes: number): number;
  fdatasync(fd: number): void;
  /**
   * `fdatasync` off the JS thread: the event loop runs while the disk works,
   * and several calls (one per partition) run in parallel, so the kernel can
   * share one journal commit between them. The binding syncs a duplicate of
   * `fd` (`dup`), so the caller may close `fd` before the promise settles.
   * Rejects with an {@linkcode IoError} (errno EIO where the binding cannot
   * see the real one: a Deno nonblocking FFI call loses errno).
   */
  fdatasyncAsync(fd: number): Promise<void>;
  ftruncate(fd: number, sizeBytes: number): void;
  /** Reserves blocks for `[offsetBytes, offsetBytes + lengthBytes)` (mode 0: may extend the file). */
  fallocate(fd: number, offsetBytes: number, lengthBytes: number): void;
  /** The file's current size in bytes (`fstat` / `lseek(SEEK_END)`). */
  fileSize(fd: number): number;

  /** Maps `[offsetBytes, offsetBytes + lengthBytes)` of `fd` (MAP_SHARED). `offsetBytes` must be page aligned. */
  mmap(fd: number, lengthBytes: number, writable: boolean, offsetBytes?: number): Mapping;
  /** Detaches `mapping.bytes`, then unmaps. */
  munmap(mapping: Mapping): void;
  msync(mapping: Mapping, offsetBytes: number, lengthBytes: number, flags: number): void;
  madvise(mapping: Mapping, offsetBytes: number, lengthBytes: number, advice: number): void;

  /**
   * Sends up to `countBytes` of file `inFd` starting at `positionBytes` to
   * socket `outFd`. Returns bytes sent (> 0), 0 at end of file, or
   * {@linkcode SENDFILE_WOULD_BLOCK} on EAGAIN. Throws on other errors.
   */
  sendfile(outFd: number, inFd: number, positionBytes: number, countBytes: number): number;

  // Directory operations: also behind the port so the in-memory libc can fake
  // (and fault) them.
  mkdirp(path: string): void;
  readdir(path: string): DirEntry[];
  unlink(path: string): void;
  rename(fromPath: string, toPath: string): void;
  /** Removes a directory and everything below it; a missing path is not an error. */
  removeTree(path: string): void;
  exists(path: string): boolean;
  /** Reads a whole small file (metadata, checkpoints), or throws IoError(ENOENT). */
  readFile(path: string): Uint8Array;
  /**
   * Writes a small file atomically: write to `path + ".tmp"`, fdatasync, rename.
   * `mode` is the new file's permission bits (default 0o644; 0o600 for secrets).
   */
  writeFileAtomic(path: string, bytes: Uint8Array, mode?: number): void;
}

/** An accepted TCP connection, push-style: the runtime calls the handlers given at listen. */
export interface Socket {
  /** The OS fd, when the runtime exposes it (needed for sendfile); otherwise `undefined`. */
  readonly fd: number | undefined;
  readonly remoteAddress: string;
  /**
   * Writes all of `bytes` to the kernel, in order with earlier writes; resolves
   * once every byte has been handed to the kernel. Rejects if the socket is
   * closed. The caller must not reuse `bytes` before it resolves.
   */
  write(bytes: Uint8Array): Promise<void>;
  /** Closes the socket; further writes reject. Idempotent. */
  close(): void;
  /**
   * Stops reading: unread bytes stay in the kernel's receive buffer, so TCP
   * flow control stops the peer. A read already under way may still deliver
   * one chunk after this call. Idempotent.
   */
  pause(): void;
  /** Reads again after {@linkcode Socket.pause}. Idempotent. */
  resume(): void;
  /**
   * The client's certificate (DER), when a TLS listener asked for one and
   * verified it against its CA; `undefined` otherwise (plain TCP, no
   * certificate asked for or none given).
   */
  readonly peerCertificate?: Uint8Array;
}

/** What the network port calls on a {@linkcode Socket}'s events. */
export interface SocketHandlers {
  /** Bytes arrived. `chunk` is only valid during the call (the runtime may reuse it). */
  onData(chunk: Uint8Array): void;
  /** The peer closed or the socket failed. Called once. */
  onClose(error?: Error): void;
}

/** TLS for an outbound connection ({@linkcode Runtime.connect}). */
export interface TlsClientOptions {
  /**
   * PEM CA certificates the server's certificate must chain to (Kafka's
   * `ssl.truststore.location`); the system's roots when absent. The server's
   * certificate must also name the host connected to.
   */
  readonly caPem?: string;
}

/** Whether a TLS listener asks clients for a certificate (Kafka's `ssl.client.auth`). */
export type TlsClientAuth = "none" | "requested" | "required";

/**
 * A TLS listener's certificate, key and client-certificate policy, as PEM
 * text. TLS 1.2 and 1.3 are offered. A TLS socket reports `fd: undefined`:
 * sendfile cannot encrypt, so fetches take the copy path.
 */
export interface TlsServerOptions {
  /** The server's certificate chain (leaf first). */
  readonly certPem: string;
  readonly keyPem: string;
  /** CA certificates that client certificates must chain to (`requested`/`required`). */
  readonly caPem: string | undefined;
  /**
   * `required`: a client without a valid certificate fails the handshake;
   * `requested`: a certificate is asked for, and one that does not verify
   * fails the handshake, but a client may send none.
   */
  readonly clientAuth: TlsClientAuth;
}

/** A bound TCP listener. */
export interface Listener {
  readonly hostname: string;
  readonly port: number;
  /**
   * TLS listeners only: new connections get `tls` from now on (open ones
   * keep theirs). Rejects, keeping the old certificate, when the runtime
   * refuses the new one.
   */
  reloadTls?(tls: TlsServerOptions): Promise<void>;
  /**
   * Stops accepting; open sockets stay open. Resolves once the port is
   * released, so that a new listener may bind it at once. Idempotent.
   */
  close(): Promise<void>;
}

/** What the runtime knows of an HTTP request beyond the request itself. */
export interface HttpRequestInfo {
  /** The client's IP address (no port), as the socket reports it. */
  readonly remoteAddress: string;
}

/** A request handler in the web-standard shape (`app.fetch` of hono). */
export type FetchHandler = (
  request: Request,
  info: HttpRequestInfo,
) => Response | Promise<Response>;

/** A certificate chain and its private key, both PEM text. */
export interface TlsCertifiedKeyPem {
  readonly certPem: string;
  readonly keyPem: string;
}

/** Where and how {@linkcode Runtime.serveHttp} serves. */
export interface HttpServeOptions {
  readonly hostname: string;
  /** `0` picks a free port. */
  readonly port: number;
  /** Serve HTTPS (TLS 1.2/1.3) with this certificate; plain HTTP when absent. */
  readonly tls?: TlsCertifiedKeyPem;
}

/** A bound HTTP server (from {@linkcode Runtime.serveHttp}). */
export interface HttpServer {
  readonly hostname: string;
  readonly port: number;
  /** Stops accepting and closes open connections; resolves once they are closed. */
  close(): Promise<void>;
}

/** The process's open-file limit (`RLIMIT_NOFILE`) before and after raising it. */
export interface OpenFilesLimit {
  readonly softBeforeCount: number;
  readonly softCount: number;
  readonly hardCount: number;
}

/** The network port, and the process-wide knobs that go with serving many sockets. */
export interface Runtime {
  /** `"deno"` or `"bun"`. */
  readonly name: string;
  /** The runtime's version string, for reports. */
  readonly version: string;
  /**
   * Why a TLS listener of this runtime cannot ask for and verify client
   * certificates (`TlsServerOptions.clientAuth` other than `"none"`), or
   * `undefined` when it can (Bun can; Deno's TLS listener has no option
   * for it).
   */
  readonly tlsClientAuthUnsupported: string | undefined;
  /** Binds a TCP listener, over TLS when `options.tls` is given. */
  listen(
    options: { hostname: string; port: number; tls?: TlsServerOptions },
    onAccept: (socket: Socket) => SocketHandlers,
  ): Promise<Listener>;
  /**
   * Opens an outbound TCP connection (a follower's fetcher to its leader): resolves with a
   * {@linkcode Socket} of the same kind {@linkcode Runtime.listen} accepts, with TCP_NODELAY,
   * once connected, after calling `onOpen` for its handlers; rejects if the connection fails.
   * With `options.tls`, over TLS: a failed handshake (a certificate not trusted or not naming
   * `hostname`) rejects under Deno, and closes the socket with the error under Bun.
   */
  connect(
    options: { hostname: string; port: number; tls?: TlsClientOptions },
    onOpen: (socket: Socket) => SocketHandlers,
  ): Promise<Socket>;
  /**
   * Serves HTTP/1.1 (HTTPS with `options.tls`) on `hostname:port` with
   * `fetch` (`Deno.serve` / `Bun.serve`); a certificate or key the TLS
   * library refuses throws here.
   */
  serveHttp(options: HttpServeOptions, fetch: FetchHandler): Promise<HttpServer>;
  /**
   * Raises the soft open-file limit to the hard limit (`setrlimit`
   * RLIMIT_NOFILE), as Kafka's docs advise for a broker; throws
   * {@linkcode IoError} if the kernel refuses.
   */
  raiseOpenFilesLimit(): OpenFilesLimit;
  /**
   * Gives free heap memory back to the kernel (glibc `malloc_trim(0)`): after
   * a burst, the freed buffers of many connections otherwise stay in malloc's
   * arenas and in the process's RSS.
   */
  releaseFreeMemory(): void;
}
