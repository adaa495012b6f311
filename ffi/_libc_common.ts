/**
 * The runtime-neutral half of the libc bindings: error handling (errno →
 * {@linkcode IoError}, EINTR retries), argument checks, mappings, and the
 * directory operations (through `node:fs`, which works in Deno and Bun).
 * `ffi/deno.ts` and `ffi/bun.ts` only supply {@linkcode RawLibc}: the bare
 * calls, returning -1 on failure with errno readable right after.
 *
 * @module
 */

import * as fs from "node:fs";
import { constants as osConstants } from "node:os";
import { dirname } from "node:path";
import {
  type DirEntry,
  Errno,
  IoError,
  type Libc,
  type Mapping,
  type OpenFilesLimit,
  OpenFlags,
  SENDFILE_WOULD_BLOCK,
} from "./port.ts";
import {
  cString,
  FILE_MODE_DEFAULT,
  IO_MAX_BYTES,
  O_DIRECTORY,
  PROT_READ,
  PROT_WRITE,
  RLIMIT_NOFILE,
} from "./libc_symbols.ts";
import { pwriteFully } from "./pwrite_fully.ts";

/**
 * The bare calls a binding supplies. Numbers in, numbers out; -1 means
 * failure and `errno()` must be read before any other FFI call. `P` is the
 * runtime's pointer type.
 */
export interface RawLibc<P> {
  readonly kind: string;
  errno(): number;
  open(pathZ: Uint8Array, flags: number, mode: number): number;
  close(fd: number): number;
  pread(fd: number, buf: Uint8Array, positionBytes: number): number;
  pwrite(fd: number, buf: Uint8Array, positionBytes: number): number;
  fdatasync(fd: number): number;
  dup(fd: number): number;
  /** `fdatasync` on another thread: resolves with 0, or the errno of the failure (EIO if unknown). */
  fdatasyncAsync(fd: number): Promise<number>;
  ftruncate(fd: number, sizeBytes: number): number;
  fallocate(fd: number, offsetBytes: number, lengthBytes: number): number;
  /** `lseek(fd, 0, SEEK_END)`. */
  seekEnd(fd: number): number;
  /** Returns `null` for MAP_FAILED. */
  mmap(fd: number, lengthBytes: number, prot: number, offsetBytes: number): P | null;
  munmap(pointer: P, lengthBytes: number): number;
  msync(pointer: P, offsetBytes: number, lengthBytes: number, flags: number): number;
  madvise(pointer: P, offsetBytes: number, lengthBytes: number, advice: number): number;
  /** `sendfile(outFd, inFd, &offsetCell[0], countBytes)`; the kernel advances the cell. */
  sendfile(outFd: number, inFd: number, offsetCell: BigInt64Array, countBytes: number): number;
  /** A zero-copy ArrayBuffer over mapped memory that does not own it. */
  view(pointer: P, lengthBytes: number): ArrayBuffer;
  readonly pageSizeBytes: number;
}

class MappingImpl<P> implements Mapping {
  readonly bytes: Uint8Array;
  readonly lengthBytes: number;
  pointer: P | undefined;
  readonly buffer: ArrayBuffer;
  constructor(pointer: P, buffer: ArrayBuffer, lengthBytes: number) {
    this.pointer = pointer;
    this.buffer = buffer;
    this.bytes = new Uint8Array(buffer);
    this.lengthBytes = lengthBytes;
  }
}

const errnoByCode = osConstants.errno as Record<string, number>;

/** The errno of a `node:fs` error (EIO when it names none). */
export function fsErrno(error: unknown): number {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? errnoByCode[code] ?? Errno.EIO : Errno.EIO;
}

/** Turns a `node:fs` error into an {@linkcode IoError} carrying the real errno. */
export function fsError(error: unknown, syscall: string, path: string): IoError {
  const errno = fsErrno(error);
  const nodeSyscall = (error as { syscall?: unknown }).syscall;
  return new IoError(typeof nodeSyscall === "string" ? nodeSyscall : syscall, errno, path);
}

/** Throws a RangeError unless `value` is a non-negative safe integer (a bug, not an IoError). */
export function checkPosition(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`Expected ${name} to be a non-negative safe integer, got "${value}"`);
  }
}

/**
 * The whole pages covering `[offsetBytes, offsetBytes + lengthBytes)` of a
 * mapping, for msync and madvise (which want a page-aligned start); a
 * RangeError when the range leaves the mapping.
 */
export function pageRange(
  mapping: Mapping,
  offsetBytes: number,
  lengthBytes: number,
  pageSizeBytes: number,
): { startBytes: number; lengthBytes: number } {
  checkPosition("offsetBytes", offsetBytes);
  checkPosition("lengthBytes", lengthBytes);
  if (offsetBytes + lengthBytes > mapping.lengthBytes) {
    throw new RangeError(
      `Range ${offsetBytes}+${lengthBytes} exceeds mapping of "${mapping.lengthBytes}" bytes`,
    );
  }
  const startBytes = offsetBytes - (offsetBytes % pageSizeBytes);
  return { startBytes, lengthBytes: lengthBytes + offsetBytes - startBytes };
}

/** Builds the {@linkcode Libc} port over a binding's bare calls. */
export function buildLibc<P>(raw: RawLibc<P>): Libc {
  const pathByFd = new Map<number, string>();
  const fail = (syscall: string, fd: number | undefined, path?: string): never => {
    const errno = raw.errno();
    throw new IoError(syscall, errno, path ?? (fd === undefined ? undefined : pathByFd.get(fd)));
  };
  /** Runs `call` until it does not fail with EINTR; returns its non-negative result. */
  const retry = (syscall: string, fd: number, call: () => number): number => {
    for (;;) {
      const result = call();
      if (result >= 0) return result;
      if (raw.errno() !== Errno.EINTR) return fail(syscall, fd);
    }
  };
  /** Runs an async call on a dup of `fd` (so `fd` may close meanwhile), retrying EINTR. */
  const onDuplicate = async (
    syscall: string,
    fd: number,
    call: (fd: number) => Promise<number>,
  ): Promise<void> => {
    const copyFd = retry("dup", fd, () => raw.dup(fd));
    let errno = 0;
    try {
      do errno = await call(copyFd); while (errno === Errno.EINTR);
    } finally {
      raw.close(copyFd);
    }
    if (errno !== 0) throw new IoError(syscall, errno, pathByFd.get(fd));
  };
  const mappingOf = (mapping: Mapping): { live: MappingImpl<P>; pointer: P } => {
    const pointer = mapping instanceof MappingImpl ? mapping.pointer : undefined;
    if (pointer === undefined) {
      throw new TypeError("Expected a live mapping from this libc's mmap()");
    }
    return { live: mapping as MappingImpl<P>, pointer };
  };
  const offsetCell = new BigInt64Array(1);

  const libc: Libc = {
    kind: raw.kind,
    open(path, flags, mode = FILE_MODE_DEFAULT) {
      const pathZ = cString(path);
      for (;;) {
        const fd = raw.open(pathZ, flags | OpenFlags.O_CLOEXEC, mode);
        if (fd >= 0) {
          pathByFd.set(fd, path);
          return fd;
        }
        if (raw.errno() !== Errno.EINTR) return fail("open", undefined, path);
      }
    },
    close(fd) {
      const result = raw.close(fd); // never retried: on Linux the fd is gone even on EINTR
      const path = pathByFd.get(fd);
      pathByFd.delete(fd);
      if (result < 0 && raw.errno() !== Errno.EINTR) fail("close", undefined, path);
    },
    pread(fd, buf, positionBytes) {
      checkPosition("positionBytes", positionBytes);
      const view = buf.length > IO_MAX_BYTES ? buf.subarray(0, IO_MAX_BYTES) : buf;
      return retry("pread", fd, () => raw.pread(fd, view, positionBytes));
    },
    pwrite(fd, buf, positionBytes) {
      checkPosition("positionBytes", positionBytes);
      const view = buf.length > IO_MAX_BYTES ? buf.subarray(0, IO_MAX_BYTES) : buf;
      return retry("pwrite", fd, () => raw.pwrite(fd, view, positionBytes));
    },
    fdatasync(fd) {
      retry("fdatasync", fd, () => raw.fdatasync(fd));
    },
    fdatasyncAsync: (fd) => onDuplicate("fdatasync", fd, raw.fdatasyncAsync),
    ftruncate(fd, sizeBytes) {
      checkPosition("sizeBytes", sizeBytes);
      retry("ftruncate", fd, () => raw.ftruncate(fd, sizeBytes));
    },
    fallocate(fd, offsetBytes, lengthBytes) {
      checkPosition("offsetBytes", offsetBytes);
      checkPosition("lengthBytes", lengthBytes);
      retry("fallocate", fd, () => raw.fallocate(fd, offsetBytes, lengthBytes));
    },
    fileSize(fd) {
      return retry("lseek", fd, () => raw.seekEnd(fd));
    },
    mmap(fd, lengthBytes, writable, offsetBytes = 0) {
      checkPosition("lengthBytes", lengthBytes);
      checkPosition("offsetBytes", offsetBytes);
      const prot = writable ? PROT_READ | PROT_WRITE : PROT_READ;
      const pointer = raw.mmap(fd, lengthBytes, prot, offsetBytes);
      if (pointer === null) return fail("mmap", fd);
      return new MappingImpl(pointer, raw.view(pointer, lengthBytes), lengthBytes);
    },
    munmap(mapping) {
      const { live, pointer } = mappingOf(mapping);
      live.pointer = undefined;
      // Detach every view first: touching unmapped memory is a SIGSEGV.
      live.buffer.transfer(0);
      if (raw.munmap(pointer, live.lengthBytes) < 0) fail("munmap", undefined);
    },
    msync(mapping, offsetBytes, lengthBytes, flags) {
      const { pointer } = mappingOf(mapping);
      const range = pageRange(mapping, offsetBytes, lengthBytes, raw.pageSizeBytes);
      for (;;) {
        if (raw.msync(pointer, range.startBytes, range.lengthBytes, flags) >= 0) return;
        if (raw.errno() !== Errno.EINTR) fail("msync", undefined);
      }
    },
    madvise(mapping, offsetBytes, lengthBytes, advice) {
      const { pointer } = mappingOf(mapping);
      const range = pageRange(mapping, offsetBytes, lengthBytes, raw.pageSizeBytes);
      if (raw.madvise(pointer, range.startBytes, range.lengthBytes, advice) < 0) {
        fail("madvise", undefined);
      }
    },
    sendfile(outFd, inFd, positionBytes, countBytes) {
      checkPosition("positionBytes", positionBytes);
      checkPosition("countBytes", countBytes);
      for (;;) {
        offsetCell[0] = BigInt(positionBytes);
        const sent = raw.sendfile(outFd, inFd, offsetCell, Math.min(countBytes, IO_MAX_BYTES));
        if (sent >= 0) return sent;
        const errno = raw.errno();
        if (errno === Errno.EAGAIN) return SENDFILE_WOULD_BLOCK;
        if (errno !== Errno.EINTR) throw new IoError("sendfile", errno, pathByFd.get(inFd));
      }
    },
    ...dirOps(),
    writeFileAtomic(path, bytes, mode = FILE_MODE_DEFAULT) {
      const tmpPath = `${path}.tmp`;
      // A leftover temporary file would keep its looser mode: start a secret's from a new one.
      if (mode !== FILE_MODE_DEFAULT && libc.exists(tmpPath)) libc.unlink(tmpPath);
      const flags = OpenFlags.O_WRONLY | OpenFlags.O_CREAT | OpenFlags.O_TRUNC;
      const fd = libc.open(tmpPath, flags, mode);
      try {
        pwriteFully(libc, { fd, bytes, positionBytes: 0, path: tmpPath });
        libc.fdatasync(fd);
      } finally {
        libc.close(fd);
      }
      libc.rename(tmpPath, path);
      const dirFd = libc.open(dirname(path), OpenFlags.O_RDONLY | O_DIRECTORY);
      try {
        libc.fdatasync(dirFd); // makes the rename itself durable
      } finally {
        libc.close(dirFd);
      }
    },
  };
  return libc;
}

type DirOps = Pick<
  Libc,
  "mkdirp" | "readdir" | "unlink" | "rename" | "removeTree" | "exists" | "readFile"
>;

/** Directory operations over `node:fs` sync calls, errors mapped to {@linkcode IoError}. */
function dirOps(): DirOps {
  return {
    mkdirp(path) {
      try {
        fs.mkdirSync(path, { recursive: true });
      } catch (error) {
        throw fsError(error, "mkdir", path);
      }
    },
    readdir(path) {
      try {
        const entries: DirEntry[] = fs.readdirSync(path, { withFileTypes: true }).map((entry) => ({
          name: entry.name,
          isDirectory: entry.isDirectory(),
        }));
        return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      } catch (error) {
        throw fsError(error, "readdir", path);
      }
    },
    unlink(path) {
      let isDirectory;
      try {
        // Deno's `unlinkSync` removes an empty directory too; unlink(2) refuses any.
        isDirectory = fs.lstatSync(path).isDirectory();
        if (!isDirectory) fs.unlinkSync(path);
      } catch (error) {
        throw fsError(error, "unlink", path);
      }
      if (isDirectory) throw new IoError("unlink", Errno.EISDIR, path);
    },
    rename(fromPath, toPath) {
      try {
        fs.renameSync(fromPath, toPath);
      } catch (error) {
        throw fsError(error, "rename", fromPath);
      }
    },
    removeTree(path) {
      try {
        fs.rmSync(path, { recursive: true, force: true });
      } catch (error) {
        throw fsError(error, "rm", path);
      }
    },
    exists(path) {
      return fs.existsSync(path);
    },
    readFile(path) {
      try {
        return new Uint8Array(fs.readFileSync(path));
      } catch (error) {
        throw fsError(error, "open", path);
      }
    },
  };
}

/** The bare process calls a binding supplies (see `PROCESS_SYMBOLS`). */
export interface RawProcessCalls {
  errno(): number;
  /** `getrlimit(resource, rlimit)`: 0, or -1 with errno set. */
  getrlimit(resource: number, rlimit: BigUint64Array): number;
  setrlimit(resource: number, rlimit: BigUint64Array): number;
  mallocTrim(padBytes: number): number;
}

/** `RLIM_INFINITY` as the kernel reports it. */
const RLIM_INFINITY = 0xffffffffffffffffn;
/** What an unlimited hard limit is raised to (Linux's default `fs.nr_open`). */
const OPEN_FILES_UNLIMITED_COUNT = 1048576;

/** Raises the soft RLIMIT_NOFILE to the hard one, through a binding's raw calls. */
export function raiseOpenFilesLimit(raw: RawProcessCalls): OpenFilesLimit {
  const cell = new BigUint64Array(2);
  if (raw.getrlimit(RLIMIT_NOFILE, cell) !== 0) throw new IoError("getrlimit", raw.errno());
  const count = (v: bigint) => v === RLIM_INFINITY ? OPEN_FILES_UNLIMITED_COUNT : Number(v);
  const softBeforeCount = count(cell[0]);
  const hardCount = count(cell[1]);
  if (softBeforeCount < hardCount) {
    cell[0] = cell[1] === RLIM_INFINITY ? BigInt(OPEN_FILES_UNLIMITED_COUNT) : cell[1];
    if (raw.setrlimit(RLIMIT_NOFILE, cell) !== 0) throw new IoError("setrlimit", raw.errno());
  }
  return { softBeforeCount, softCount: Math.max(softBeforeCount, hardCount), hardCount };
}
