/**
 * The Deno binding of the ports: {@linkcode denoLibc} over `Deno.dlopen`
 * (sync calls, BigInt for 64-bit parameters, errno read through
 * `__errno_location` right after a failing call) and {@linkcode denoRuntime}
 * over `Deno.listen` (and `Deno.serve` for HTTP).
 *
 * @module
 */

import * as v8 from "node:v8";
import * as vm from "node:vm";
import {
  buildLibc,
  raiseOpenFilesLimit,
  type RawLibc,
  type RawProcessCalls,
} from "./_libc_common.ts";
import { ISAL_CRC32C_SYMBOL, ISAL_PATH } from "./crc32c.ts";
import { type BoundFunction, CODEC_LIBRARIES, type RawCodecLibraries } from "./codec_symbols.ts";
import type { NeutralSymbol } from "./libc_symbols.ts";
import {
  IPPROTO_TCP,
  LIBC_PATH,
  LIBC_SYMBOLS,
  type LibcSymbols,
  MAP_SHARED,
  PROCESS_SYMBOLS,
  SC_PAGESIZE,
  SEEK_END,
  TCP_NODELAY,
} from "./libc_symbols.ts";
import { Errno } from "./port.ts";
import type { HttpServer, Libc, Runtime, Socket, SocketHandlers } from "./port.ts";
import { type AcceptedConn, DENO_CLIENT_AUTH_UNSUPPORTED, denoListen } from "./deno_listener.ts";

type DenoSymbols = {
  [K in keyof LibcSymbols]: {
    parameters: LibcSymbols[K]["params"];
    result: LibcSymbols[K]["result"];
  };
};

function denoSymbols(): DenoSymbols {
  const entries = Object.entries(LIBC_SYMBOLS).map(([name, symbol]) => [
    name,
    { parameters: symbol.params, result: symbol.result },
  ]);
  return Object.fromEntries(entries) as DenoSymbols;
}

let cachedLibc: Libc | undefined;

/** The libc port over `Deno.dlopen("libc.so.6")`. Opened once per process. */
export function denoLibc(): Libc {
  cachedLibc ??= buildLibc(denoRawLibc());
  return cachedLibc;
}

function denoRawLibc(): RawLibc<Deno.PointerObject> {
  const { symbols: c } = Deno.dlopen(LIBC_PATH, denoSymbols());
  const { symbols: nb } = Deno.dlopen(
    LIBC_PATH,
    {
      fdatasync: { parameters: ["i32"], result: "i32", nonblocking: true },
    } as const,
  );
  const errnoPointer = c.__errno_location();
  if (errnoPointer === null) throw new Error("Expected __errno_location() to return a pointer");
  const errnoView = new Deno.UnsafePointerView(errnoPointer);
  const offset = (p: Deno.PointerObject, bytes: number) =>
    bytes === 0 ? p : Deno.UnsafePointer.offset(p, bytes);
  return {
    kind: "deno",
    pageSizeBytes: Number(c.sysconf(SC_PAGESIZE)),
    errno: () => errnoView.getInt32(),
    open: (pathZ, flags, mode) => c.open(pathZ, flags, mode),
    close: (fd) => c.close(fd),
    pread: (fd, buf, pos) => c.pread(fd, buf, BigInt(buf.length), BigInt(pos)),
    pwrite: (fd, buf, pos) => c.pwrite(fd, buf, BigInt(buf.length), BigInt(pos)),
    fdatasync: (fd) => c.fdatasync(fd),
    dup: (fd) => c.dup(fd),
    // A nonblocking call runs on Deno's blocking pool and loses errno: -1 reads as EIO.
    fdatasyncAsync: async (fd) => (await nb.fdatasync(fd)) === 0 ? 0 : Errno.EIO,
    ftruncate: (fd, size) => c.ftruncate(fd, BigInt(size)),
    fallocate: (fd, off, len) => c.fallocate(fd, 0, BigInt(off), BigInt(len)),
    seekEnd: (fd) => Number(c.lseek(fd, 0n, SEEK_END)),
    mmap(fd, lengthBytes, prot, offsetBytes) {
      const p = c.mmap(null, BigInt(lengthBytes), prot, MAP_SHARED, fd, BigInt(offsetBytes));
      const failed = p === null || Deno.UnsafePointer.value(p) === 0xffffffffffffffffn;
      return failed ? null : p;
    },
    munmap: (p, len) => c.munmap(p, BigInt(len)),
    msync: (p, off, len, flags) => c.msync(offset(p, off), BigInt(len), flags),
    madvise: (p, off, len, advice) => c.madvise(offset(p, off), BigInt(len), advice),
    sendfile: (outFd, inFd, cell, count) => c.sendfile(outFd, inFd, cell, BigInt(count)),
    view: (p, len) => Deno.UnsafePointerView.getArrayBuffer(p, len),
  };
}

/**
 * The read buffer every connection owns: an idle connection's pending
 * `conn.read` waits on it. Small, so that an idle connection costs little
 * (with one 256 KiB buffer per connection, 10,000 idle connections held
 * 2.3 GB of RSS).
 */
export const IDLE_READ_BUFFER_BYTES = 2 * 1024;
/** Size of the pooled buffers a connection reads with while data keeps coming. */
export const READ_BUFFER_BYTES = 128 * 1024;
/**
 * Pooled read buffers in use at once, at most (32 MiB); past that,
 * connections read with their own small one.
 */
export const READ_POOL_BUFFERS_MAX = 256;
/** Free pooled read buffers kept for reuse; more are dropped for the GC. */
const READ_POOL_FREE_MAX = 4;

/**
 * The shared pool of large read buffers: a connection takes one when a read
 * fills its small buffer (more data is waiting) and gives it back when a
 * read comes back short or the connection pauses.
 */
class ReadBufferPool {
  readonly #free: Uint8Array[] = [];
  #inUseCount = 0;

  /** A large buffer, or `undefined` when {@linkcode READ_POOL_BUFFERS_MAX} are in use. */
  take(): Uint8Array | undefined {
    if (this.#inUseCount >= READ_POOL_BUFFERS_MAX) return undefined;
    this.#inUseCount++;
    return this.#free.pop() ?? new Uint8Array(READ_BUFFER_BYTES);
  }

  give(buffer: Uint8Array): void {
    this.#inUseCount--;
    if (this.#free.length < READ_POOL_FREE_MAX) this.#free.push(buffer);
  }
}

const readPool = new ReadBufferPool();

/**
 * The OS fd of a conn from `Deno.listen().accept()`, read from its own symbol
 * property described `"Deno.internal.fd"`; `undefined` if this Deno does not
 * expose it (the sender then falls back to copying).
 */
export function denoConnFd(conn: Deno.Conn): number | undefined {
  const symbol = Object.getOwnPropertySymbols(conn).find((s) =>
    s.description === "Deno.internal.fd"
  );
  if (symbol === undefined) return undefined;
  const fd = (conn as unknown as Record<symbol, unknown>)[symbol];
  return typeof fd === "number" && Number.isInteger(fd) && fd >= 0 ? fd : undefined;
}

class DenoSocket implements Socket {
  /** The OS fd for sendfile; `undefined` over TLS (sendfile cannot encrypt). */
  readonly fd: number | undefined;
  readonly remoteAddress: string;
  readonly #conn: Deno.Conn;
  #closed = false;
  #paused = false;
  #resumed: PromiseWithResolvers<void> | undefined;
  #writesPending = 0;
  #tail: Promise<void> = Promise.resolve();

  constructor(accepted: AcceptedConn) {
    const conn = accepted.conn;
    this.#conn = conn;
    this.fd = accepted.tls ? undefined : denoConnFd(conn);
    const addr = conn.remoteAddr as Deno.NetAddr;
    this.remoteAddress = `${addr.hostname}:${addr.port}`;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get paused(): boolean {
    return this.#paused && !this.#closed;
  }

  /** Resolves on resume() or close(). */
  resumed(): Promise<void> {
    this.#resumed ??= Promise.withResolvers();
    return this.#resumed.promise;
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.#wake();
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("Socket is closed"));
    this.#writesPending++;
    const run = this.#writesPending === 1
      ? this.#writeAll(bytes)
      : this.#tail.then(() => this.#writeAll(bytes));
    const settle = () => {
      this.#writesPending--;
    };
    this.#tail = run.then(settle, settle);
    return run;
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    for (let doneBytes = 0; doneBytes < bytes.length;) {
      if (this.#closed) throw new Deno.errors.BadResource("Socket is closed");
      doneBytes += await this.#conn.write(bytes.subarray(doneBytes));
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake();
    try {
      this.#conn.close();
    } catch {
      // Already closed by the runtime after a failure: nothing left to release.
    }
  }

  #wake(): void {
    const resumed = this.#resumed;
    this.#resumed = undefined;
    resumed?.resolve();
  }
}

async function serveConn(
  accepted: AcceptedConn,
  onAccept: (socket: Socket) => SocketHandlers,
): Promise<void> {
  const conn = accepted.conn;
  // A TlsConn has no setNoDelay: it inherits TCP_NODELAY from its listener (deno_listener.ts).
  if (!accepted.tls) accepted.conn.setNoDelay(true);
  const socket = new DenoSocket(accepted);
  let handlers: SocketHandlers;
  try {
    handlers = onAccept(socket);
  } catch (error) {
    socket.close();
    throw error;
  }
  await serveSocket(conn, socket, handlers);
}

/** Reads `conn` until EOF, an error or a local close, then calls `onClose` once. */
async function serveSocket(
  conn: Deno.Conn,
  socket: DenoSocket,
  handlers: SocketHandlers,
): Promise<void> {
  let failure: Error | undefined;
  try {
    await readLoop(conn, socket, handlers);
  } catch (error) {
    // A local close() interrupts the pending read: that is not a failure.
    if (!socket.closed) failure = error instanceof Error ? error : new Error(String(error));
  }
  socket.close();
  handlers.onClose(failure);
}

/**
 * Reads until EOF or close: with the connection's small buffer while reads
 * are small, with a pooled large one from a read that fills the small one
 * until a read that the small one would have held (a producer of 4 KiB
 * requests then reads each in one call, not two: that cost 10% of its
 * throughput), and not at all while paused.
 */
async function readLoop(
  conn: Deno.Conn,
  socket: DenoSocket,
  handlers: SocketHandlers,
): Promise<void> {
  const small = new Uint8Array(IDLE_READ_BUFFER_BYTES);
  let large: Uint8Array | undefined;
  try {
    while (!socket.closed) {
      if (socket.paused) {
        // The pooled buffer is kept: a connection pauses whenever a request
        // arrives during its predecessor, and giving it back then cost a
        // second read per request.
        await socket.resumed();
        continue;
      }
      const buffer = large ?? small;
      const countBytes = await conn.read(buffer);
      if (countBytes === null) break;
      handlers.onData(buffer.subarray(0, countBytes));
      if (countBytes === buffer.length) large ??= readPool.take();
      else if (large !== undefined && countBytes < IDLE_READ_BUFFER_BYTES) {
        readPool.give(large);
        large = undefined;
      }
    }
  } finally {
    if (large !== undefined) readPool.give(large);
  }
}

let fullGc: (() => void) | null | undefined;

/**
 * A full V8 collection. V8 collects when JS allocates, so after a burst an
 * idle broker keeps its garbage (and the buffers it holds) indefinitely;
 * `gc` is reached through `node:v8`/`node:vm` as in Node (no
 * `--expose-gc` needed on the command line).
 */
function collectGarbage(): void {
  if (fullGc === undefined) {
    try {
      v8.setFlagsFromString("--expose-gc");
      const gc: unknown = vm.runInNewContext("gc");
      fullGc = typeof gc === "function" ? gc as () => void : null;
    } catch {
      fullGc = null;
    }
  }
  fullGc?.();
}

let processCalls: RawProcessCalls | undefined;
let setsockopt:
  | ((fd: number, level: number, name: number, value: Uint8Array, length: number) => number)
  | undefined;

/** Sets TCP_NODELAY on socket `fd`; false when the kernel refuses. */
function setTcpNoDelay(fd: number): boolean {
  denoProcessCalls();
  const one = new Uint8Array(new Int32Array([1]).buffer);
  return setsockopt!(fd, IPPROTO_TCP, TCP_NODELAY, one, one.length) === 0;
}

function denoProcessCalls(): RawProcessCalls {
  if (processCalls !== undefined) return processCalls;
  const symbols = Object.fromEntries(
    Object.entries(PROCESS_SYMBOLS).map((
      [name, s],
    ) => [name, { parameters: s.params, result: s.result }]),
  );
  const { symbols: c } = Deno.dlopen(LIBC_PATH, symbols) as unknown as {
    symbols: {
      getrlimit(r: number, b: BigUint64Array): number;
      setrlimit(r: number, b: BigUint64Array): number;
      malloc_trim(pad: bigint): number;
      __errno_location(): Deno.PointerObject;
      setsockopt(
        fd: number,
        level: number,
        name: number,
        value: Uint8Array,
        length: number,
      ): number;
    };
  };
  setsockopt = c.setsockopt;
  const errnoView = new Deno.UnsafePointerView(c.__errno_location());
  processCalls = {
    errno: () => errnoView.getInt32(),
    getrlimit: (r, b) => c.getrlimit(r, b),
    setrlimit: (r, b) => c.setrlimit(r, b),
    mallocTrim: (pad) => c.malloc_trim(BigInt(pad)),
  };
  return processCalls;
}

/**
 * The network port over `Deno.listen` (TCP) and `Deno.listenTls` (TLS, see
 * `deno_listener.ts`). Per connection: TCP_NODELAY, a
 * small read buffer of {@linkcode IDLE_READ_BUFFER_BYTES} (and a pooled one of
 * {@linkcode READ_BUFFER_BYTES} while data keeps coming), `onData` with a
 * view that is valid only during the call, no read while paused, then
 * `onClose` once (after EOF, an error, or a local `close()`; the socket is
 * closed by then).
 */
export function denoRuntime(): Runtime {
  return {
    name: "deno",
    version: Deno.version.deno,
    tlsClientAuthUnsupported: DENO_CLIENT_AUTH_UNSUPPORTED,
    listen(options, onAccept) {
      return Promise.resolve(
        denoListen(options, (accepted) => serveConn(accepted, onAccept), { setTcpNoDelay }),
      );
    },
    async connect(options, onOpen) {
      const { hostname, port, tls } = options;
      const tcp = await Deno.connect({ hostname, port, transport: "tcp" });
      tcp.setNoDelay(true);
      let accepted: AcceptedConn = { conn: tcp, tls: false };
      if (tls !== undefined) {
        const caCerts = tls.caPem === undefined ? undefined : [tls.caPem];
        const conn = await Deno.startTls(tcp, { hostname, caCerts });
        try {
          await conn.handshake();
        } catch (error) {
          conn.close();
          throw error;
        }
        accepted = { conn, tls: true };
      }
      const { conn } = accepted;
      const socket = new DenoSocket(accepted);
      let handlers: SocketHandlers;
      try {
        handlers = onOpen(socket);
      } catch (error) {
        socket.close();
        throw error;
      }
      serveSocket(conn, socket, handlers).catch((error) => {
        console.error("denka: outbound connection handler failed", error);
      });
      return socket;
    },
    serveHttp(options, fetch) {
      const { hostname, port, tls } = options;
      const handler = (request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) =>
        fetch(request, { remoteAddress: info.remoteAddr.hostname });
      const server = tls === undefined
        ? Deno.serve({ hostname, port, onListen() {} }, handler)
        : Deno.serve(
          { hostname, port, cert: tls.certPem, key: tls.keyPem, onListen() {} },
          handler,
        );
      const addr = server.addr as Deno.NetAddr;
      const handle: HttpServer = {
        hostname: addr.hostname,
        port: addr.port,
        close: () => server.shutdown(),
      };
      return Promise.resolve(handle);
    },
    raiseOpenFilesLimit: () => raiseOpenFilesLimit(denoProcessCalls()),
    releaseFreeMemory() {
      collectGarbage();
      denoProcessCalls().mallocTrim(0);
    },
  };
}

/**
 * Hardware CRC-32C (`crc32_iscsi` of ISA-L, see `ffi/crc32c.ts`) over a whole
 * view, continuing from `crc`; `undefined` when the library is not installed.
 */
export function denoCrc32c(): ((bytes: Uint8Array, crc: number) => number) | undefined {
  let lib;
  try {
    lib = Deno.dlopen(
      ISAL_PATH,
      {
        [ISAL_CRC32C_SYMBOL]: { parameters: ["buffer", "i32", "u32"], result: "u32" },
      } as const,
    );
  } catch {
    return undefined;
  }
  const fn = lib.symbols[ISAL_CRC32C_SYMBOL];
  return (bytes, crc) => ~fn(bytes, bytes.length, ~crc >>> 0) >>> 0;
}

/**
 * The codec libraries of `ffi/codec_symbols.ts` that are installed, opened with
 * `Deno.dlopen` (each one optional), for `ffi/codecs.ts`.
 */
export function denoCodecLibraries(): RawCodecLibraries<Deno.PointerObject> {
  const open = (library: { path: string; symbols: Record<string, NeutralSymbol> }) => {
    const table = Object.fromEntries(
      Object.entries(library.symbols).map(([name, s]) => [
        name,
        { parameters: s.params, result: s.result },
      ]),
    );
    try {
      // deno-lint-ignore no-explicit-any
      return Deno.dlopen(library.path, table as any).symbols as Record<string, BoundFunction>;
    } catch {
      return undefined;
    }
  };
  return {
    zlib: open(CODEC_LIBRARIES.zlib),
    zstd: open(CODEC_LIBRARIES.zstd),
    lz4: open(CODEC_LIBRARIES.lz4),
    snappy: open(CODEC_LIBRARIES.snappy),
    addressOf: (bytes) => BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(bytes))),
    pointerFrom: (address) => Deno.UnsafePointer.create(address)!,
    cString: (pointer) => pointer === null ? "" : Deno.UnsafePointerView.getCString(pointer),
  };
}
