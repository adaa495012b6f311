/**
 * The Deno binding of the ports: {@linkcode denoLibc} over `Deno.dlopen`
 * (sync calls, BigInt for 64-bit parameters, errno read through
 * `__errno_location` right after a failing call) and {@linkcode denoRuntime}
 * over `Deno.listen` (and `Deno.serve` for HTTP).
 *
 * @module
 */

import { buildLibc, type RawLibc } from "./_libc_common.ts";
import { ISAL_CRC32C_SYMBOL, ISAL_PATH } from "./crc32c.ts";
import { type BoundFunction, CODEC_LIBRARIES, type RawCodecLibraries } from "./codec_symbols.ts";
import type { NeutralSymbol } from "./libc_symbols.ts";
import {
  LIBC_PATH,
  LIBC_SYMBOLS,
  type LibcSymbols,
  MAP_SHARED,
  SC_PAGESIZE,
  SEEK_END,
} from "./libc_symbols.ts";
import { Errno } from "./port.ts";
import type { HttpServer, Libc, Listener, Runtime, Socket, SocketHandlers } from "./port.ts";

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

const ACCEPT_RETRY_MS = 100;

/** Size of the one read buffer each connection reuses. */
export const READ_BUFFER_BYTES = 256 * 1024;

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
  readonly fd: number | undefined;
  readonly remoteAddress: string;
  readonly #conn: Deno.TcpConn;
  #closed = false;
  #writesPending = 0;
  #tail: Promise<void> = Promise.resolve();

  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    this.fd = denoConnFd(conn);
    const addr = conn.remoteAddr as Deno.NetAddr;
    this.remoteAddress = `${addr.hostname}:${addr.port}`;
  }

  get closed(): boolean {
    return this.#closed;
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
    try {
      this.#conn.close();
    } catch {
      // Already closed by the runtime after a failure: nothing left to release.
    }
  }
}

async function serveConn(
  conn: Deno.TcpConn,
  onAccept: (socket: Socket) => SocketHandlers,
): Promise<void> {
  conn.setNoDelay(true);
  const socket = new DenoSocket(conn);
  let handlers: SocketHandlers;
  try {
    handlers = onAccept(socket);
  } catch (error) {
    socket.close();
    throw error;
  }
  const buffer = new Uint8Array(READ_BUFFER_BYTES);
  let failure: Error | undefined;
  try {
    for (;;) {
      const countBytes = await conn.read(buffer);
      if (countBytes === null) break;
      handlers.onData(buffer.subarray(0, countBytes));
    }
  } catch (error) {
    // A local close() interrupts the pending read: that is not a failure.
    if (!socket.closed) failure = error instanceof Error ? error : new Error(String(error));
  }
  socket.close();
  handlers.onClose(failure);
}

/**
 * The network port over `Deno.listen` (TCP). Per connection: TCP_NODELAY, one
 * reused read buffer of {@linkcode READ_BUFFER_BYTES}, `onData` with a view of
 * it that is valid only during the call, then `onClose` once (after EOF, an
 * error, or a local `close()`; the socket is closed by then).
 */
export function denoRuntime(): Runtime {
  return {
    name: "deno",
    version: Deno.version.deno,
    listen(options, onAccept) {
      const listener = Deno.listen({ ...options, transport: "tcp" });
      const addr = listener.addr as Deno.NetAddr;
      let closed = false;
      const acceptLoop = async () => {
        for (;;) {
          let conn: Deno.TcpConn;
          try {
            conn = await listener.accept();
          } catch (error) {
            if (closed) return;
            // E.g. EMFILE: keep serving the open connections and try again shortly.
            console.error("denka: accept failed", error);
            await new Promise((resolve) => setTimeout(resolve, ACCEPT_RETRY_MS));
            continue;
          }
          serveConn(conn, onAccept).catch((error) => {
            console.error("denka: connection handler failed", error);
          });
        }
      };
      const loopDone = acceptLoop().catch((error) =>
        console.error("denka: accept loop failed", error)
      );
      const handle: Listener = {
        hostname: addr.hostname,
        port: addr.port,
        close() {
          if (!closed) {
            closed = true;
            listener.close();
          }
          // The port is released once the pending accept has been cancelled.
          return loopDone;
        },
      };
      return Promise.resolve(handle);
    },
    serveHttp(options, fetch) {
      const server = Deno.serve({ ...options, onListen() {} }, fetch);
      const addr = server.addr as Deno.NetAddr;
      const handle: HttpServer = {
        hostname: addr.hostname,
        port: addr.port,
        close: () => server.shutdown(),
      };
      return Promise.resolve(handle);
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
