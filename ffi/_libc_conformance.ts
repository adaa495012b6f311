/**
 * The libc conformance suite: one set of tests every {@linkcode Libc} must
 * pass (the in-memory libc, the Deno binding, the Bun binding), in the manner
 * of Hono's `runTest({ newRouter })`. It names no test runner: the caller
 * passes `register` (`Deno.test`, or `test` from `bun:test`) and a factory
 * for a fresh {@linkcode LibcSubject} per test.
 *
 * What differs between libcs on purpose stays out: faults, `crash()` and
 * SIGBUS modelling (memory), fd-level runtime details (bindings). Those
 * keep their own tests beside each libc.
 *
 * @module
 */

import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import { FILE_CASES } from "./_libc_conformance_files.ts";
import { MAPPING_CASES } from "./_libc_conformance_maps.ts";
import type { Libc, Runtime, Socket } from "./port.ts";

/** Registers one test with the runner (`Deno.test`, `bun:test`'s `test`). */
export type Register = (name: string, fn: () => void | Promise<void>) => void;

/** A connected stream socket as `sendfile` sees it: our end's fd and the peer's reads. */
export interface SocketPair {
  /** The fd `sendfile` writes to. */
  readonly fd: number;
  /** Resolves with the next `sizeBytes` bytes the peer received (rejects if they never come). */
  receive(sizeBytes: number): Promise<Uint8Array>;
  /** Closes both ends; resolves once they are closed. */
  close(): Promise<void>;
}

/** One libc under test, fresh for each test. */
export interface LibcSubject {
  readonly libc: Libc;
  /** An empty directory that belongs to this test. */
  readonly dir: string;
  openSocketPair(): Promise<SocketPair>;
  /** After a case passed: fails if it left fds or mappings open (where the libc can tell). */
  checkNothingLeaked?(): void;
  /** Removes the directory. */
  dispose(): void;
}

/** One case of the suite: its title and body. */
export type ConformanceCase = readonly [
  title: string,
  run: (subject: LibcSubject) => void | Promise<void>,
];

/** The libc a suite run is about: its name in test titles, and a fresh subject per test. */
export interface LibcUnderTest {
  readonly name: string;
  newSubject(): LibcSubject;
}

/** Registers every case of the suite with `register`, titled `[name] ...`. */
export function libcConformance(libc: LibcUnderTest, register: Register): void {
  for (const [title, run] of [...FILE_CASES, ...MAPPING_CASES]) {
    register(`[${libc.name}] ${title}`, async () => {
      const subject = libc.newSubject();
      try {
        await run(subject);
        subject.checkNothingLeaked?.();
      } finally {
        subject.dispose();
      }
    });
  }
}

/**
 * A subject over a real binding: a temporary directory from `node:fs`, and
 * socket pairs over `runtime.listen` (the accepted side's OS fd) with a
 * `node:net` client as the peer.
 */
export function hostLibcSubject(libc: Libc, runtime: Runtime): LibcSubject {
  const dir = fs.mkdtempSync(`${os.tmpdir()}/denka-libc-`);
  return {
    libc,
    dir,
    openSocketPair: () => runtimeSocketPair(runtime),
    dispose: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

async function runtimeSocketPair(runtime: Runtime): Promise<SocketPair> {
  const accepted = Promise.withResolvers<Socket>();
  const serverClosed = Promise.withResolvers<void>();
  const listener = await runtime.listen({ hostname: "127.0.0.1", port: 0 }, (socket) => {
    accepted.resolve(socket);
    return { onData() {}, onClose: () => serverClosed.resolve() };
  });
  const client = net.connect({ host: "127.0.0.1", port: listener.port });
  const clientClosed = new Promise<void>((resolve) => client.on("close", () => resolve()));
  const peer = new PeerReader();
  client.on("data", (chunk: Uint8Array) => peer.push(chunk));
  client.on("error", (error: Error) => peer.fail(error));
  client.on("end", () => peer.fail(new Error("The peer saw end of stream")));
  const socket = await accepted.promise;
  if (socket.fd === undefined) throw new Error(`Runtime "${runtime.name}" exposes no socket fd`);
  return {
    fd: socket.fd,
    receive: (sizeBytes) => peer.receive(sizeBytes),
    async close() {
      socket.close();
      client.destroy();
      await Promise.all([serverClosed.promise, clientClosed, listener.close()]);
    },
  };
}

/** Collects what a `node:net` peer reads and hands it out in order. */
class PeerReader {
  #chunks: Uint8Array[] = [];
  #bufferedBytes = 0;
  #failure: Error | undefined;
  #wake: (() => void) | undefined;

  push(chunk: Uint8Array): void {
    this.#chunks.push(new Uint8Array(chunk));
    this.#bufferedBytes += chunk.length;
    this.#wake?.();
  }

  fail(error: Error): void {
    this.#failure ??= error;
    this.#wake?.();
  }

  async receive(sizeBytes: number): Promise<Uint8Array> {
    while (this.#bufferedBytes < sizeBytes) {
      if (this.#failure !== undefined) throw this.#failure;
      const arrived = Promise.withResolvers<void>();
      this.#wake = arrived.resolve;
      await arrived.promise;
      this.#wake = undefined;
    }
    const out = new Uint8Array(sizeBytes);
    for (let doneBytes = 0; doneBytes < sizeBytes;) {
      const head = this.#chunks[0];
      const takeBytes = Math.min(head.length, sizeBytes - doneBytes);
      out.set(head.subarray(0, takeBytes), doneBytes);
      doneBytes += takeBytes;
      if (takeBytes === head.length) this.#chunks.shift();
      else this.#chunks[0] = head.subarray(takeBytes);
    }
    this.#bufferedBytes -= sizeBytes;
    return out;
  }
}
