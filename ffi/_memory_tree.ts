/**
 * The in-memory libc's namespace: which directories exist and which path
 * names which file, with the directory operations of the libc port
 * (`mkdirp`, `readdir`, `unlink`, `rename`, `removeTree`, `exists`) failing
 * as Linux does. File contents live in `ffi/memory.ts`; a file here is an
 * opaque node.
 *
 * @module
 */

import { type DirEntry, Errno, IoError } from "./port.ts";

/** `path` made absolute, without empty or `.` parts. */
export function normalize(path: string): string {
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  return "/" + parts.join("/");
}

/** The directory holding a normalized `path` (`/` for `/`). */
export function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

/** Directories and files by normalized path; `N` is the file node. */
export class MemoryTree<N> {
  readonly files: Map<string, N> = new Map();
  readonly dirs: Set<string> = new Set(["/"]);
  readonly #fault: (syscall: string, path: string) => unknown;

  /** `fault` is called with the method name and path first; it throws to inject a fault. */
  constructor(fault: (syscall: string, path: string) => unknown) {
    this.#fault = fault;
  }

  mkdirp(pathGiven: string): void {
    const { files, dirs } = this;
    const path = normalize(pathGiven);
    this.#fault("mkdirp", path);
    if (files.has(path)) throw new IoError("mkdir", Errno.EEXIST, path);
    for (let p = parentOf(path); p !== "/"; p = parentOf(p)) {
      if (files.has(p)) throw new IoError("mkdir", Errno.ENOTDIR, path);
    }
    for (let p = path; p !== "/"; p = parentOf(p)) dirs.add(p);
  }

  readdir(pathGiven: string): DirEntry[] {
    const path = normalize(pathGiven);
    this.#fault("readdir", path);
    if (!this.dirs.has(path)) {
      throw new IoError("readdir", this.files.has(path) ? Errno.ENOTDIR : Errno.ENOENT, path);
    }
    return this.#entries(path);
  }

  unlink(pathGiven: string): void {
    const path = normalize(pathGiven);
    this.#fault("unlink", path);
    if (this.dirs.has(path)) throw new IoError("unlink", Errno.EISDIR, path);
    if (!this.files.delete(path)) throw new IoError("unlink", Errno.ENOENT, path);
  }

  rename(fromGiven: string, toGiven: string): void {
    const { files, dirs } = this;
    const from = normalize(fromGiven);
    const to = normalize(toGiven);
    this.#fault("rename", from);
    const node = files.get(from);
    if (node === undefined && !dirs.has(from)) throw new IoError("rename", Errno.ENOENT, from);
    if (!dirs.has(parentOf(to))) {
      throw new IoError("rename", files.has(parentOf(to)) ? Errno.ENOTDIR : Errno.ENOENT, from);
    }
    if (from === to) return;
    if (node === undefined) return this.#renameDirectory(from, to);
    if (dirs.has(to)) throw new IoError("rename", Errno.EISDIR, from);
    files.delete(from);
    files.set(to, node);
  }

  removeTree(pathGiven: string): void {
    const path = normalize(pathGiven);
    this.#fault("removeTree", path);
    const below = (p: string) => p === path || p.startsWith(path + "/");
    for (const f of [...this.files.keys()]) if (below(f)) this.files.delete(f);
    for (const d of [...this.dirs]) if (d !== "/" && below(d)) this.dirs.delete(d);
  }

  exists(pathGiven: string): boolean {
    const path = normalize(pathGiven);
    return this.files.has(path) || this.dirs.has(path);
  }

  #entries(path: string): DirEntry[] {
    const prefix = path === "/" ? "/" : path + "/";
    const isChild = (p: string) => p.startsWith(prefix) && !p.slice(prefix.length).includes("/");
    const entries: DirEntry[] = [];
    for (const d of this.dirs) {
      if (d !== path && isChild(d)) {
        entries.push({ name: d.slice(prefix.length), isDirectory: true });
      }
    }
    for (const f of this.files.keys()) {
      if (isChild(f)) entries.push({ name: f.slice(prefix.length), isDirectory: false });
    }
    return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Moves a directory and everything below it, refusing what rename(2) refuses. */
  #renameDirectory(from: string, to: string): void {
    const { files, dirs } = this;
    if (files.has(to)) throw new IoError("rename", Errno.ENOTDIR, from);
    if (to.startsWith(from + "/")) throw new IoError("rename", Errno.EINVAL, from);
    if (dirs.has(to) && this.#entries(to).length > 0) {
      throw new IoError("rename", Errno.ENOTEMPTY, from);
    }
    const below = (path: string) => path === from || path.startsWith(from + "/");
    const movedDirs = [...dirs].filter(below);
    const movedFiles = [...files].filter(([path]) => below(path));
    for (const d of movedDirs) dirs.delete(d);
    for (const [path] of movedFiles) files.delete(path);
    for (const d of movedDirs) dirs.add(to + d.slice(from.length));
    for (const [path, node] of movedFiles) files.set(to + path.slice(from.length), node);
  }
}
