/**
 * The libc symbols Denka calls, in one runtime-neutral table, plus the Linux
 * constants the bindings need. `ffi/deno.ts` and `ffi/bun.ts` both build their
 * `dlopen` tables from {@linkcode LIBC_SYMBOLS}, so a signature is written
 * once.
 *
 * Neutral types (x86_64 / aarch64 Linux, glibc):
 * - `i32`: `int` (fds, flags, modes, and results that fit in 31 bits);
 * - `i64`: `off_t` / `long` (file positions and sizes);
 * - `usize`: `size_t` (byte counts);
 * - `buffer`: a pointer argument passed as a typed array (the runtime pins it
 *   for the call; a `subarray()` points at its byteOffset);
 * - `pointer`: an opaque pointer value (mmap addresses);
 * - `void`.
 *
 * `pread`, `pwrite` and `sendfile` return `ssize_t`, declared here as `i32`:
 * the bindings never ask for more than {@linkcode IO_MAX_BYTES} per call (Linux
 * caps one transfer at that anyway), and -1 stays -1. This avoids a BigInt per
 * call in Deno.
 *
 * @module
 */

/** A C type, in the neutral form both bindings translate. */
export type NeutralType = "i32" | "i64" | "usize" | "buffer" | "pointer" | "void";

/** One C function: its parameter types and result type. */
export interface NeutralSymbol {
  readonly params: readonly NeutralType[];
  readonly result: NeutralType;
}

/** Every libc function Denka binds, by its C name. */
export const LIBC_SYMBOLS = {
  open: { params: ["buffer", "i32", "i32"], result: "i32" },
  close: { params: ["i32"], result: "i32" },
  pread: { params: ["i32", "buffer", "usize", "i64"], result: "i32" },
  pwrite: { params: ["i32", "buffer", "usize", "i64"], result: "i32" },
  fdatasync: { params: ["i32"], result: "i32" },
  dup: { params: ["i32"], result: "i32" },
  ftruncate: { params: ["i32", "i64"], result: "i32" },
  fallocate: { params: ["i32", "i32", "i64", "i64"], result: "i32" },
  lseek: { params: ["i32", "i64", "i32"], result: "i64" },
  mmap: { params: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  munmap: { params: ["pointer", "usize"], result: "i32" },
  msync: { params: ["pointer", "usize", "i32"], result: "i32" },
  madvise: { params: ["pointer", "usize", "i32"], result: "i32" },
  sendfile: { params: ["i32", "i32", "buffer", "usize"], result: "i32" },
  sysconf: { params: ["i32"], result: "i64" },
  __errno_location: { params: [], result: "pointer" },
} as const satisfies Record<string, NeutralSymbol>;

/**
 * Process-wide calls the network port makes (not file I/O, so not in the
 * {@linkcode Libc} port): the open-file limit and giving freed heap back.
 * `getrlimit`/`setrlimit` take a `struct rlimit` of two u64 (soft, hard).
 */
export const PROCESS_SYMBOLS = {
  getrlimit: { params: ["i32", "buffer"], result: "i32" },
  setrlimit: { params: ["i32", "buffer"], result: "i32" },
  malloc_trim: { params: ["usize"], result: "i32" },
  __errno_location: { params: [], result: "pointer" },
  /** `setsockopt(fd, level, name, value, length)`: TCP_NODELAY on Deno's TLS listener. */
  setsockopt: { params: ["i32", "i32", "i32", "buffer", "i32"], result: "i32" },
} as const satisfies Record<string, NeutralSymbol>;

/** `setsockopt` level and option: Nagle's algorithm off. */
export const IPPROTO_TCP = 6;
export const TCP_NODELAY = 1;

/** `getrlimit`/`setrlimit` resource: the open-file limit. */
export const RLIMIT_NOFILE = 7;

/** The table's type, for bindings that map it at the type level. */
export type LibcSymbols = typeof LIBC_SYMBOLS;

/** The shared object that holds the symbols above. */
export const LIBC_PATH = "libc.so.6";

/** Largest byte count one pread/pwrite/sendfile call asks for (Linux's own cap: `MAX_RW_COUNT`). */
export const IO_MAX_BYTES = 0x7ffff000;

/** `mmap` protection bits. */
export const PROT_READ = 1;
/** `mmap` protection bits. */
export const PROT_WRITE = 2;
/** `mmap` flag: writes go to the file and are seen by every mapping of it. */
export const MAP_SHARED = 1;
/** `lseek` whence: relative to the end of the file. */
export const SEEK_END = 2;
/** `sysconf` name of the page size. */
export const SC_PAGESIZE = 30;
/** `open` flag: fail unless the path is a directory (used to fsync a directory). */
export const O_DIRECTORY = 0o200000;
/** The mode new files get unless the caller passes one (before umask). */
export const FILE_MODE_DEFAULT = 0o644;

const encoder = new TextEncoder();

/** `path` as NUL-terminated UTF-8, the form `open(2)` wants. */
export function cString(path: string): Uint8Array {
  const bytes = new Uint8Array(path.length * 3 + 1);
  const { written } = encoder.encodeInto(path, bytes);
  return bytes.subarray(0, written + 1); // the byte after `written` is already 0
}
