/**
 * An in-memory {@linkcode Libc} with seeded, rule-based faults, for tests.
 *
 * Files are growable byte arrays keyed by path; fds, directories and mappings
 * behave like Linux's where storage depends on it:
 * - A mapping has its own buffer kept coherent with the file: every call on
 *   the file first pulls the mapped bytes it touches, and `pwrite`/`ftruncate`
 *   push into live mappings. So writes through `mapping.bytes` are visible to
 *   `pread`, and `munmap` detaches `bytes` (`transfer(0)`) as the real bindings do.
 * - Touching a mapped page past end of file kills a real process with SIGBUS.
 *   Here, a non-zero byte past EOF in a mapping makes the next call on that
 *   file throw an `Error` whose message starts with `"SIGBUS"`.
 * - Durability: `fdatasync` and `msync(MS_SYNC)` copy bytes to a durable image;
 *   {@linkcode MemoryLibc.crash} throws away everything else.
 *
 * @module
 */

import { checkPosition, pageRange } from "./_libc_common.ts";
import { FaultInjector, type FaultPlan, type FaultRule } from "./_memory_faults.ts";
import { MemoryTree, normalize, parentOf } from "./_memory_tree.ts";
import {
  Errno,
  IoError,
  type Libc,
  type Mapping,
  MsyncFlags,
  OpenFlags,
  SENDFILE_WOULD_BLOCK,
} from "./port.ts";

export type { FaultPlan, FaultRule };

/** Options of {@linkcode memoryLibc}. */
export interface MemoryLibcOptions {
  /** Seed of the generator behind short writes and reads (default 1). */
  readonly seed?: number;
  readonly faults?: FaultPlan;
  /** A write or allocation beyond this size fails with EFBIG (default 4 GiB). */
  readonly fileSizeBytesMax?: number;
}

/** The in-memory libc, with test controls beyond {@linkcode Libc}. */
export interface MemoryLibc extends Libc {
  /** Adds a fault rule; it counts matching calls from now on. */
  addFault(rule: FaultRule): void;
  /** Removes every fault rule (the fault "clears"). */
  clearFaults(): void;
  /** How many times faults have fired so far. */
  readonly faultsFiredCount: number;
  /** Simulates power loss: every file reverts to its durable image; fds and mappings are gone. */
  crash(): void;
  /** The size of a file's durable image: what {@linkcode crash} would leave of it. */
  durableSizeBytes(path: string): number;
  /** Number of fds and mappings still open (leak checks). */
  openFdCount(): number;
  liveMappingCount(): number;
  /**
   * A fake socket fd that `sendfile` copies into. With `sendBufferBytes`, at most that many
   * bytes wait in it until {@linkcode takeSocketBytes} takes them: `sendfile` sends what fits
   * and returns `SENDFILE_WOULD_BLOCK` when nothing does, as a real nonblocking socket does.
   */
  openSocket(options?: { sendBufferBytes?: number }): number;
  /** The bytes that arrived at a fake socket and were not taken yet. */
  socketBytes(fd: number): Uint8Array;
  /** Takes the first `sizeBytes` waiting bytes (fewer if fewer wait) off a fake socket. */
  takeSocketBytes(fd: number, sizeBytes: number): Uint8Array;
}

const PAGE_SIZE_BYTES = 4096;

interface FileNode {
  data: Uint8Array; // capacity >= sizeBytes; bytes past sizeBytes are always zero
  sizeBytes: number;
  durable: Uint8Array; // what survives crash()
  readonly mappings: Set<MemoryMapping>;
}

interface MemoryMapping extends Mapping {
  readonly node: FileNode;
  readonly path: string;
  readonly offsetBytes: number;
  readonly writable: boolean;
  live: boolean;
}

interface OpenFile {
  readonly path: string;
  readonly node: FileNode | undefined; // undefined: a fake socket
  readonly readable: boolean;
  readonly writable: boolean;
  received: number[];
  readonly sendBufferBytes: number;
}

const ACCESS_MODE_MASK = 3;

/** Creates an in-memory libc; see the module doc. */
export function memoryLibc(options: MemoryLibcOptions = {}): MemoryLibc {
  const fileSizeBytesMax = options.fileSizeBytesMax ?? 4 * 1024 ** 3;
  const fds = new Map<number, OpenFile>();
  const mappings = new Set<MemoryMapping>();
  const faults = new FaultInjector(options.seed ?? 1, options.faults ?? []);
  const fault = (syscall: string, path: string) => faults.check(syscall, path);
  const tree = new MemoryTree<FileNode>((syscall, path) => faults.check(syscall, path));
  const { files, dirs } = tree;
  let fdNext = 3;
  let crashCount = 0;

  function file(syscall: string, fd: number): { open: OpenFile; node: FileNode } {
    const open = fds.get(fd);
    if (open === undefined || open.node === undefined) throw new IoError(syscall, Errno.EBADF);
    checkSigbus(open.node, open.path);
    return { open, node: open.node };
  }

  /** Like {@linkcode file}, for a call that needs `fd` open for writing (`errno` if it is not). */
  function writableFile(syscall: string, fd: number, errno: number) {
    const found = file(syscall, fd);
    if (!found.open.writable) throw new IoError(syscall, errno, found.open.path);
    return found;
  }

  function checkSigbus(node: FileNode, path: string): void {
    for (const m of node.mappings) {
      const fromBytes = Math.max(node.sizeBytes - m.offsetBytes, 0);
      for (let i = fromBytes; i < m.bytes.length; i++) {
        if (m.bytes[i] !== 0) {
          throw new Error(
            `SIGBUS: a mapping of "${path}" was written at ${
              m.offsetBytes + i
            }, past end of file ${node.sizeBytes}`,
          );
        }
      }
    }
  }

  /** Copies bytes written through mappings in `[startBytes, endBytes)` into the file. */
  function pull(node: FileNode, startBytes: number, endBytes: number): void {
    for (const m of node.mappings) {
      const from = Math.max(startBytes, m.offsetBytes);
      const to = Math.min(endBytes, m.offsetBytes + m.bytes.length, node.sizeBytes);
      if (m.writable && from < to) {
        node.data.set(m.bytes.subarray(from - m.offsetBytes, to - m.offsetBytes), from);
      }
    }
  }

  /** Copies file bytes in `[startBytes, endBytes)` into every mapping. */
  function push(node: FileNode, startBytes: number, endBytes: number): void {
    for (const m of node.mappings) {
      const from = Math.max(startBytes, m.offsetBytes);
      const to = Math.min(endBytes, m.offsetBytes + m.bytes.length);
      if (from < to) m.bytes.set(node.data.subarray(from, to), from - m.offsetBytes);
    }
  }

  function reserve(syscall: string, node: FileNode, sizeBytes: number, path: string): void {
    if (sizeBytes > fileSizeBytesMax) throw new IoError(syscall, Errno.EFBIG, path);
    if (sizeBytes <= node.data.length) return;
    const data = new Uint8Array(Math.max(sizeBytes, node.data.length * 2, 4096));
    data.set(node.data.subarray(0, node.sizeBytes));
    node.data = data;
  }

  function resize(node: FileNode, sizeBytes: number): void {
    if (sizeBytes < node.sizeBytes) {
      node.data.fill(0, sizeBytes, node.sizeBytes);
      push(node, sizeBytes, node.sizeBytes);
    }
    node.sizeBytes = sizeBytes;
  }

  function newNode(): FileNode {
    return {
      data: new Uint8Array(0),
      sizeBytes: 0,
      durable: new Uint8Array(0),
      mappings: new Set(),
    };
  }

  function open(pathGiven: string, flags: number): number {
    const path = normalize(pathGiven);
    fault("open", path);
    if (dirs.has(path)) throw new IoError("open", Errno.EISDIR, path);
    let node = files.get(path);
    if (node === undefined) {
      if ((flags & OpenFlags.O_CREAT) === 0) throw new IoError("open", Errno.ENOENT, path);
      if (!dirs.has(parentOf(path))) throw new IoError("open", Errno.ENOENT, path);
      node = newNode();
      files.set(path, node);
    } else if ((flags & OpenFlags.O_CREAT) !== 0 && (flags & OpenFlags.O_EXCL) !== 0) {
      throw new IoError("open", Errno.EEXIST, path);
    } else if ((flags & OpenFlags.O_TRUNC) !== 0) {
      checkSigbus(node, path);
      resize(node, 0);
    }
    const fd = fdNext++;
    const accessMode = flags & ACCESS_MODE_MASK;
    fds.set(fd, {
      path,
      node,
      readable: accessMode !== OpenFlags.O_WRONLY,
      writable: accessMode !== OpenFlags.O_RDONLY,
      received: [],
      sendBufferBytes: 0,
    });
    return fd;
  }

  function pread(fd: number, buf: Uint8Array, positionBytes: number): number {
    checkPosition("positionBytes", positionBytes);
    const { open, node } = file("pread", fd);
    if (!open.readable) throw new IoError("pread", Errno.EBADF, open.path);
    const rule = fault("pread", open.path);
    let lengthBytes = Math.max(0, Math.min(buf.length, node.sizeBytes - positionBytes));
    if (rule?.shortRead) lengthBytes = faults.shortLength(lengthBytes);
    pull(node, positionBytes, positionBytes + lengthBytes);
    buf.set(node.data.subarray(positionBytes, positionBytes + lengthBytes));
    return lengthBytes;
  }

  function pwrite(fd: number, buf: Uint8Array, positionBytes: number): number {
    checkPosition("positionBytes", positionBytes);
    const { open, node } = writableFile("pwrite", fd, Errno.EBADF);
    const rule = fault("pwrite", open.path);
    let lengthBytes = buf.length;
    if (rule?.shortWrite) lengthBytes = faults.shortLength(lengthBytes);
    const endBytes = positionBytes + lengthBytes;
    reserve("pwrite", node, endBytes, open.path);
    node.data.set(buf.subarray(0, lengthBytes), positionBytes);
    if (endBytes > node.sizeBytes) node.sizeBytes = endBytes;
    push(node, positionBytes, endBytes);
    return lengthBytes;
  }

  function makeDurable(node: FileNode, startBytes: number, endBytes: number): void {
    if (node.durable.length !== node.sizeBytes) {
      const durable = new Uint8Array(node.sizeBytes);
      durable.set(node.durable.subarray(0, Math.min(node.durable.length, node.sizeBytes)));
      node.durable = durable;
    }
    const to = Math.min(endBytes, node.sizeBytes);
    if (startBytes < to) node.durable.set(node.data.subarray(startBytes, to), startBytes);
  }

  function mmap(fd: number, lengthBytes: number, writable: boolean, offsetBytes = 0): Mapping {
    checkPosition("lengthBytes", lengthBytes);
    checkPosition("offsetBytes", offsetBytes);
    const { open, node } = file("mmap", fd);
    fault("mmap", open.path);
    if (lengthBytes === 0 || offsetBytes % PAGE_SIZE_BYTES !== 0) {
      throw new IoError("mmap", Errno.EINVAL, open.path);
    }
    if (writable && !open.writable) throw new IoError("mmap", Errno.EACCES, open.path);
    const bytes = new Uint8Array(new ArrayBuffer(lengthBytes));
    const to = Math.min(offsetBytes + lengthBytes, node.sizeBytes);
    if (offsetBytes < to) {
      pull(node, offsetBytes, to);
      bytes.set(node.data.subarray(offsetBytes, to));
    }
    const m: MemoryMapping = {
      bytes,
      lengthBytes,
      node,
      path: open.path,
      offsetBytes,
      writable,
      live: true,
    };
    node.mappings.add(m);
    mappings.add(m);
    return m;
  }

  /** A live mapping of this libc; a dead or foreign one is a bug (a TypeError, as the bindings throw). */
  function live(mapping: Mapping): MemoryMapping {
    const m = mapping as MemoryMapping;
    if (!mappings.has(m) || !m.live) {
      throw new TypeError("Expected a live mapping from this libc's mmap()");
    }
    checkSigbus(m.node, m.path);
    return m;
  }

  function unmapQuietly(m: MemoryMapping): void {
    m.live = false;
    m.node.mappings.delete(m);
    mappings.delete(m);
    (m.bytes.buffer as ArrayBuffer).transfer(0);
  }

  function socketOf(syscall: string, fd: number): OpenFile {
    const socket = fds.get(fd);
    if (socket === undefined || socket.node !== undefined) throw new IoError(syscall, Errno.EBADF);
    return socket;
  }

  const libc: MemoryLibc = {
    kind: "memory",
    open,
    close(fd) {
      if (!fds.delete(fd)) throw new IoError("close", Errno.EBADF);
    },
    pread,
    pwrite,
    fdatasync(fd) {
      const { open, node } = file("fdatasync", fd);
      fault("fdatasync", open.path);
      pull(node, 0, node.sizeBytes);
      makeDurable(node, 0, node.sizeBytes);
    },
    async fdatasyncAsync(fd) {
      // The file as it is now becomes durable when the call completes, a macrotask later
      // (fd may be closed meanwhile: the real bindings sync a dup), unless the process
      // "crashed" first.
      const { open, node } = file("fdatasync", fd);
      pull(node, 0, node.sizeBytes);
      const bytes = node.data.slice(0, node.sizeBytes);
      const crashes = crashCount;
      await new Promise((resolve) => setTimeout(resolve, 0));
      fault("fdatasync", open.path);
      if (crashes !== crashCount) return;
      node.durable = bytes.subarray(0, Math.min(bytes.length, node.sizeBytes)); // cut if it shrank
    },
    ftruncate(fd, sizeBytes) {
      checkPosition("sizeBytes", sizeBytes);
      const { open, node } = writableFile("ftruncate", fd, Errno.EINVAL);
      fault("ftruncate", open.path);
      pull(node, 0, node.sizeBytes);
      reserve("ftruncate", node, sizeBytes, open.path);
      resize(node, sizeBytes);
    },
    fallocate(fd, offsetBytes, lengthBytes) {
      checkPosition("offsetBytes", offsetBytes);
      checkPosition("lengthBytes", lengthBytes);
      const { open, node } = writableFile("fallocate", fd, Errno.EBADF);
      fault("fallocate", open.path);
      const endBytes = offsetBytes + lengthBytes;
      reserve("fallocate", node, endBytes, open.path);
      if (endBytes > node.sizeBytes) resize(node, endBytes);
    },
    fileSize(fd) {
      return file("fileSize", fd).node.sizeBytes;
    },
    mmap,
    munmap(mapping) {
      const m = live(mapping);
      fault("munmap", m.path);
      pull(m.node, m.offsetBytes, m.offsetBytes + m.lengthBytes);
      unmapQuietly(m);
    },
    msync(mapping, offsetBytes, lengthBytes, flags) {
      const m = live(mapping);
      const range = pageRange(mapping, offsetBytes, lengthBytes, PAGE_SIZE_BYTES);
      fault("msync", m.path);
      const startBytes = m.offsetBytes + range.startBytes;
      pull(m.node, startBytes, startBytes + range.lengthBytes);
      if ((flags & MsyncFlags.MS_SYNC) !== 0) {
        makeDurable(m.node, startBytes, startBytes + range.lengthBytes);
      }
    },
    madvise(mapping, offsetBytes, lengthBytes) {
      live(mapping);
      pageRange(mapping, offsetBytes, lengthBytes, PAGE_SIZE_BYTES);
    },
    sendfile(outFd, inFd, positionBytes, countBytes) {
      checkPosition("positionBytes", positionBytes);
      checkPosition("countBytes", countBytes);
      const socket = fds.get(outFd);
      if (socket === undefined || socket.node !== undefined) {
        throw new IoError("sendfile", Errno.EBADF);
      }
      const { open, node } = file("sendfile", inFd);
      try {
        fault("sendfile", open.path);
      } catch (error) {
        if (error instanceof IoError && error.errno === Errno.EAGAIN) return SENDFILE_WOULD_BLOCK;
        throw error;
      }
      const freeBytes = socket.sendBufferBytes - socket.received.length;
      const lengthBytes = Math.max(
        0,
        Math.min(countBytes, node.sizeBytes - positionBytes, freeBytes),
      );
      if (
        lengthBytes === 0 && freeBytes === 0 && countBytes > 0 && positionBytes < node.sizeBytes
      ) {
        return SENDFILE_WOULD_BLOCK;
      }
      pull(node, positionBytes, positionBytes + lengthBytes);
      for (let i = 0; i < lengthBytes; i++) socket.received.push(node.data[positionBytes + i]);
      return lengthBytes;
    },
    mkdirp: (path) => tree.mkdirp(path),
    readdir: (path) => tree.readdir(path),
    unlink: (path) => tree.unlink(path),
    rename: (fromPath, toPath) => tree.rename(fromPath, toPath),
    removeTree: (path) => tree.removeTree(path),
    exists: (path) => tree.exists(path),
    readFile(pathGiven) {
      const path = normalize(pathGiven);
      fault("readFile", path);
      const node = files.get(path);
      if (node === undefined) {
        throw new IoError("readFile", dirs.has(path) ? Errno.EISDIR : Errno.ENOENT, path);
      }
      checkSigbus(node, path);
      pull(node, 0, node.sizeBytes);
      return node.data.slice(0, node.sizeBytes);
    },
    writeFileAtomic(pathGiven, bytes) {
      const path = normalize(pathGiven);
      fault("writeFileAtomic", path);
      if (!dirs.has(parentOf(path))) throw new IoError("writeFileAtomic", Errno.ENOENT, path);
      const node = newNode();
      node.data = bytes.slice();
      node.sizeBytes = bytes.length;
      node.durable = bytes.slice();
      files.set(path, node);
    },
    addFault: (rule) => faults.add(rule),
    clearFaults: () => faults.clear(),
    get faultsFiredCount() {
      return faults.firedCount;
    },
    crash() {
      crashCount++;
      for (const m of [...mappings]) unmapQuietly(m);
      fds.clear();
      for (const node of files.values()) {
        node.data = node.durable.slice();
        node.sizeBytes = node.durable.length;
      }
    },
    durableSizeBytes(path) {
      const node = files.get(path);
      if (node === undefined) throw new IoError("stat", Errno.ENOENT, path);
      return node.durable.length;
    },
    openFdCount: () => [...fds.values()].filter((f) => f.node !== undefined).length,
    liveMappingCount: () => mappings.size,
    openSocket(options = {}) {
      const fd = fdNext++;
      fds.set(fd, {
        path: `socket:${fd}`,
        node: undefined,
        readable: true,
        writable: true,
        received: [],
        sendBufferBytes: options.sendBufferBytes ?? Infinity,
      });
      return fd;
    },
    socketBytes(fd) {
      return Uint8Array.from(socketOf("socketBytes", fd).received);
    },
    takeSocketBytes(fd, sizeBytes) {
      const socket = socketOf("takeSocketBytes", fd);
      const taken = Uint8Array.from(socket.received.slice(0, sizeBytes));
      socket.received = socket.received.slice(taken.length);
      return taken;
    },
  };
  return libc;
}
