/**
 * The Bun binding of the ports: {@linkcode bunLibc} over `bun:ffi` and
 * {@linkcode bunRuntime} over `Bun.listen` (TCP and TLS; `Bun.serve` for HTTP).
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
import type { HttpServer, Libc, Runtime } from "./port.ts";
import { type BunConnect, bunConnect, type BunListen, bunListen } from "./bun_listener.ts";

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

/** The part of a `Bun.serve` server used here. */
interface BunHttpServer {
  readonly hostname: string;
  readonly port: number;
  stop(closeActiveConnections?: boolean): Promise<void>;
  requestIP(request: Request): { address: string } | null;
}

interface BunGlobal {
  readonly version: string;
  gc(force: boolean): void;
  serve(options: {
    hostname: string;
    port: number;
    /** Seconds a connection may stay idle; 0 disables (live tails stream for long). */
    idleTimeout: number;
    tls?: { cert: string; key: string };
    fetch(request: Request, server: BunHttpServer): Response | Promise<Response>;
  }): BunHttpServer;
  listen: BunListen;
  connect: BunConnect;
}

/**
 * The network port over `Bun.listen` (TCP and TLS, see `bun_listener.ts`). Per connection: TCP_NODELAY,
 * `onData` with Bun's chunk (treat it as valid only during the call), then
 * `onClose` once (after the peer closes, an error, or a local `close()`).
 */
export function bunRuntime(): Runtime {
  const bun = (globalThis as unknown as { Bun: BunGlobal }).Bun;
  return {
    name: "bun",
    version: bun.version,
    tlsClientAuthUnsupported: undefined,
    listen(options, onAccept) {
      return Promise.resolve(bunListen((o) => bun.listen(o), options, onAccept));
    },
    connect(options, onOpen) {
      return bunConnect((o) => bun.connect(o), options, onOpen);
    },
    serveHttp(options, fetch) {
      const { hostname, port, tls } = options;
      const server = bun.serve({
        hostname,
        port,
        idleTimeout: 0,
        tls: tls === undefined ? undefined : { cert: tls.certPem, key: tls.keyPem },
        fetch: (request, s) =>
          fetch(request, { remoteAddress: s.requestIP(request)?.address ?? "" }),
      });
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
