/**
 * The Bun binding of the ports: {@linkcode bunLibc} over `bun:ffi` and
 * {@linkcode bunRuntime} over `Bun.listen` (and `Bun.serve` for HTTP).
 *
 * `bun:ffi` and `Bun` are typed locally (only what is used here), so this
 * file type-checks under `deno check` without Bun's type package. Only Bun
 * ever evaluates it (`ffi/load.ts` imports it when `globalThis.Bun` exists).
 *
 * @module
 */

import * as bunFfi from "bun:ffi";
import { fdatasync as fsFdatasync } from "node:fs";
import {
  buildLibc,
  fsErrno,
  raiseOpenFilesLimit,
  type RawLibc,
  type RawProcessCalls,
} from "./_libc_common.ts";
import { ISAL_CRC32C_SYMBOL, ISAL_PATH } from "./crc32c.ts";
import { type BoundFunction, CODEC_LIBRARIES, type RawCodecLibraries } from "./codec_symbols.ts";
import type { NeutralSymbol } from "./libc_symbols.ts";
import {
  LIBC_PATH,
  LIBC_SYMBOLS,
  MAP_SHARED,
  type NeutralType,
  PROCESS_SYMBOLS,
  SC_PAGESIZE,
  SEEK_END,
} from "./libc_symbols.ts";
import type {
  FetchHandler,
  HttpServer,
  Libc,
  Listener,
  Runtime,
  Socket,
  SocketHandlers,
} from "./port.ts";

/** A `bun:ffi` pointer: a plain number (MAP_FAILED comes back as a BigInt). */
type BunPointer = number;
type BunArg = number | bigint | ArrayBufferView | null;
type BunFunction = (...args: BunArg[]) => number | bigint | BunPointer | null;

interface BunFfi {
  dlopen(
    path: string,
    symbols: Record<string, { args: string[]; returns: string }>,
  ): { symbols: Record<keyof typeof LIBC_SYMBOLS, BunFunction> };
  toArrayBuffer(pointer: BunPointer, byteOffset: number, byteLength: number): ArrayBuffer;
  read: { i32(pointer: BunPointer, byteOffset: number): number };
  ptr(view: ArrayBufferView): BunPointer;
  CString: new (pointer: BunPointer) => { toString(): string };
}

const ffi = bunFfi as unknown as BunFfi;

const BUN_PARAM: Record<NeutralType, string> = {
  i32: "i32",
  i64: "i64",
  usize: "u64",
  buffer: "ptr",
  pointer: "ptr",
  void: "void",
};
// `i64_fast` returns a number whenever the value is a safe integer.
const BUN_RESULT: Record<NeutralType, string> = {
  ...BUN_PARAM,
  i64: "i64_fast",
  usize: "u64_fast",
};

function bunSymbols(): Record<string, { args: string[]; returns: string }> {
  const entries = Object.entries(LIBC_SYMBOLS).map(([name, symbol]) => [
    name,
    { args: symbol.params.map((t) => BUN_PARAM[t]), returns: BUN_RESULT[symbol.result] },
  ]);
  return Object.fromEntries(entries);
}

let cachedLibc: Libc | undefined;

/** The libc port over `bun:ffi`'s `dlopen("libc.so.6")`. Opened once per process. */
export function bunLibc(): Libc {
  cachedLibc ??= buildLibc(bunRawLibc());
  return cachedLibc;
}

function bunRawLibc(): RawLibc<BunPointer> {
  const { symbols } = ffi.dlopen(LIBC_PATH, bunSymbols());
  const c = symbols as Record<keyof typeof LIBC_SYMBOLS, (...args: BunArg[]) => number>;
  const errnoPointer = c.__errno_location();
  return {
    kind: "bun",
    pageSizeBytes: Number(c.sysconf(SC_PAGESIZE)),
    errno: () => ffi.read.i32(errnoPointer, 0),
    open: (pathZ, flags, mode) => c.open(pathZ, flags, mode),
    close: (fd) => c.close(fd),
    pread: (fd, buf, pos) => c.pread(fd, buf, buf.length, pos),
    pwrite: (fd, buf, pos) => c.pwrite(fd, buf, buf.length, pos),
    fdatasync: (fd) => c.fdatasync(fd),
    dup: (fd) => c.dup(fd),
    // bun:ffi has no nonblocking calls; node:fs runs fdatasync on Bun's thread pool.
    fdatasyncAsync: (fd) =>
      new Promise((resolve) => fsFdatasync(fd, (error) => resolve(error ? fsErrno(error) : 0))),
    ftruncate: (fd, size) => c.ftruncate(fd, size),
    fallocate: (fd, off, len) => c.fallocate(fd, 0, off, len),
    seekEnd: (fd) => Number(c.lseek(fd, 0, SEEK_END)),
    mmap(fd, lengthBytes, prot, offsetBytes) {
      const p: unknown = c.mmap(null, lengthBytes, prot, MAP_SHARED, fd, offsetBytes);
      return typeof p === "number" && p !== 0 ? p : null; // MAP_FAILED is a BigInt
    },
    munmap: (p, len) => c.munmap(p, len),
    msync: (p, off, len, flags) => c.msync(p + off, len, flags),
    madvise: (p, off, len, advice) => c.madvise(p + off, len, advice),
    sendfile: (outFd, inFd, cell, count) => c.sendfile(outFd, inFd, cell, count),
    view: (p, len) => ffi.toArrayBuffer(p, 0, len),
  };
}

/** The part of a `Bun.listen` socket used here. */
interface BunTcpSocket {
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
}

interface BunServer {
  readonly hostname: string;
  readonly port: number;
  stop(closeActiveConnections?: boolean): void;
}

/** The part of a `Bun.serve` server used here. */
interface BunHttpServer {
  readonly hostname: string;
  readonly port: number;
  stop(closeActiveConnections?: boolean): Promise<void>;
}

interface BunGlobal {
  readonly version: string;
  gc(force: boolean): void;
  serve(options: {
    hostname: string;
    port: number;
    /** Seconds a connection may stay idle; 0 disables (live tails stream for long). */
    idleTimeout: number;
    fetch: FetchHandler;
  }): BunHttpServer;
  connect(options: {
    hostname: string;
    port: number;
    socket: BunSocketHandlers;
  }): Promise<BunTcpSocket>;
  listen(options: {
    hostname: string;
    port: number;
    socket: {
      open(s: BunTcpSocket): void;
      data(s: BunTcpSocket, chunk: Uint8Array): void;
      drain(s: BunTcpSocket): void;
      close(s: BunTcpSocket, error?: Error): void;
      error(s: BunTcpSocket, error: Error): void;
    };
  }): BunServer;
}

/** The socket handlers of `Bun.listen` and `Bun.connect`. */
interface BunSocketHandlers {
  open(s: BunTcpSocket): void;
  data(s: BunTcpSocket, chunk: Uint8Array): void;
  drain(s: BunTcpSocket): void;
  close(s: BunTcpSocket, error?: Error): void;
  error(s: BunTcpSocket, error: Error): void;
}

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
  readonly fd: number | undefined;
  readonly remoteAddress: string;
  handlers: SocketHandlers | undefined;
  readonly #socket: BunTcpSocket;
  readonly #queue: PendingWrite[] = [];
  #closed = false;

  constructor(socket: BunTcpSocket) {
    this.#socket = socket;
    this.fd = Number.isInteger(socket.fd) && socket.fd >= 0 ? socket.fd : undefined;
    this.remoteAddress = `${socket.remoteAddress}:${socket.remotePort}`;
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

/**
 * The network port over `Bun.listen` (TCP). Per connection: TCP_NODELAY,
 * `onData` with Bun's chunk (treat it as valid only during the call), then
 * `onClose` once (after the peer closes, an error, or a local `close()`).
 */
export function bunRuntime(): Runtime {
  const bun = (globalThis as unknown as { Bun: BunGlobal }).Bun;
  return {
    name: "bun",
    version: bun.version,
    listen(options, onAccept) {
      const server = bun.listen({
        hostname: options.hostname,
        port: options.port,
        socket: {
          open(s) {
            s.setNoDelay(true);
            const socket = new BunSocket(s);
            s.data = socket;
            socket.handlers = onAccept(socket);
          },
          data(s, chunk) {
            s.data?.handlers?.onData(chunk);
          },
          drain(s) {
            s.data?.drain();
          },
          close(s, error) {
            s.data?.closed(error);
          },
          error(s, error) {
            s.data?.close();
            s.data?.closed(error);
          },
        },
      });
      const handle: Listener = {
        hostname: server.hostname,
        port: server.port,
        close: () => {
          server.stop(false);
          return Promise.resolve();
        },
      };
      return Promise.resolve(handle);
    },
    async connect(options, onOpen) {
      let failed: Error | undefined;
      const s = await bun.connect({
        hostname: options.hostname,
        port: options.port,
        socket: {
          open(s) {
            s.setNoDelay(true);
            const socket = new BunSocket(s);
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
    },
    serveHttp(options, fetch) {
      const server = bun.serve({ ...options, idleTimeout: 0, fetch });
      const handle: HttpServer = {
        hostname: server.hostname,
        port: server.port,
        close: () => server.stop(true),
      };
      return Promise.resolve(handle);
    },
    raiseOpenFilesLimit: () => raiseOpenFilesLimit(bunProcessCalls()),
    releaseFreeMemory() {
      bun.gc(true); // a full, synchronous collection: garbage of a burst is otherwise kept
      bunProcessCalls().mallocTrim(0);
    },
  };
}

let processCalls: RawProcessCalls | undefined;

function bunProcessCalls(): RawProcessCalls {
  if (processCalls !== undefined) return processCalls;
  const table = Object.fromEntries(
    Object.entries(PROCESS_SYMBOLS).map((
      [name, s],
    ) => [name, { args: s.params.map((t) => BUN_PARAM[t]), returns: BUN_RESULT[s.result] }]),
  );
  const c = (ffi.dlopen(LIBC_PATH, table) as unknown as {
    symbols: Record<keyof typeof PROCESS_SYMBOLS, BunFunction>;
  }).symbols;
  const errnoPointer = c.__errno_location() as BunPointer;
  processCalls = {
    errno: () => ffi.read.i32(errnoPointer, 0),
    getrlimit: (r, b) => c.getrlimit(r, b) as number,
    setrlimit: (r, b) => c.setrlimit(r, b) as number,
    mallocTrim: (pad) => c.malloc_trim(pad) as number,
  };
  return processCalls;
}

/**
 * Hardware CRC-32C (`crc32_iscsi` of ISA-L, see `ffi/crc32c.ts`) over a whole
 * view, continuing from `crc`; `undefined` when the library is not installed.
 */
export function bunCrc32c(): ((bytes: Uint8Array, crc: number) => number) | undefined {
  let fn: BunFunction;
  try {
    const lib = ffi.dlopen(ISAL_PATH, {
      [ISAL_CRC32C_SYMBOL]: { args: ["ptr", "i32", "u32"], returns: "u32" },
    }) as unknown as { symbols: Record<string, BunFunction> };
    fn = lib.symbols[ISAL_CRC32C_SYMBOL];
  } catch {
    return undefined;
  }
  return (bytes, crc) => ~(fn(bytes, bytes.length, ~crc >>> 0) as number) >>> 0;
}

/**
 * The codec libraries of `ffi/codec_symbols.ts` that are installed, opened with
 * `bun:ffi` (each one optional), for `ffi/codecs.ts`.
 */
export function bunCodecLibraries(): RawCodecLibraries<BunPointer> {
  const open = (library: { path: string; symbols: Record<string, NeutralSymbol> }) => {
    const table = Object.fromEntries(
      Object.entries(library.symbols).map(([name, s]) => [
        name,
        { args: s.params.map((t) => BUN_PARAM[t]), returns: BUN_RESULT[s.result] },
      ]),
    );
    try {
      return ffi.dlopen(library.path, table).symbols as unknown as Record<string, BoundFunction>;
    } catch {
      return undefined;
    }
  };
  return {
    zlib: open(CODEC_LIBRARIES.zlib),
    zstd: open(CODEC_LIBRARIES.zstd),
    lz4: open(CODEC_LIBRARIES.lz4),
    snappy: open(CODEC_LIBRARIES.snappy),
    // bun:ffi refuses the pointer of an empty view; nothing is read through it anyway.
    addressOf: (bytes) => bytes.length === 0 ? 0n : BigInt(ffi.ptr(bytes)),
    pointerFrom: (address) => Number(address),
    cString: (pointer) => pointer === null ? "" : new ffi.CString(pointer).toString(),
  };
}
