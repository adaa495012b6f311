/**
 * One suite for {@linkcode Runtime.connect} on every runtime binding (Deno:
 * `connect_test.ts`, Bun: `tests/bun/connect.test.ts`): an outbound socket
 * to a loopback listener of the same runtime carries bytes both ways in
 * order, closes once, and a refused connection rejects.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { concatBytes } from "../util/bytes.ts";
import type { Runtime, Socket } from "./port.ts";

/** The test registration function of the runner (`Deno.test`, `bun:test`'s `test`). */
export type TestFn = (name: string, fn: () => Promise<void>) => void;

/** Registers the cases for `runtime`. */
export function connectConformance(runtime: Runtime, test: TestFn): void {
  test(`${runtime.name}: Runtime.connect() talks to a listener both ways and closes once`, async () => {
    const accepted: Socket[] = [];
    // The listener echoes every chunk back.
    const listener = await runtime.listen({ hostname: "127.0.0.1", port: 0 }, (socket) => {
      accepted.push(socket);
      return { onData: (chunk) => void socket.write(chunk.slice()), onClose: () => {} };
    });
    try {
      const received: Uint8Array[] = [];
      const payload = new Uint8Array(300_000).map((_, i) => i % 251);
      let receivedBytes = 0;
      let closes = 0;
      let echoed!: () => void;
      const allEchoed = new Promise<void>((resolve) => (echoed = resolve));
      let closed!: () => void;
      const onClosed = new Promise<void>((resolve) => (closed = resolve));
      const socket = await runtime.connect(
        { hostname: "127.0.0.1", port: listener.port },
        () => ({
          onData(chunk) {
            received.push(chunk.slice());
            receivedBytes += chunk.length;
            if (receivedBytes === payload.length) echoed();
          },
          onClose() {
            closes++;
            closed();
          },
        }),
      );
      await socket.write(payload);
      await allEchoed;
      assert.deepEqual(concatBytes(received), payload);
      socket.close();
      socket.close(); // idempotent
      await onClosed;
      assert.equal(closes, 1);
    } finally {
      for (const s of accepted) s.close();
      await listener.close();
    }
  });

  test(`${runtime.name}: Runtime.connect() rejects when nothing listens`, async () => {
    const listener = await runtime.listen({ hostname: "127.0.0.1", port: 0 }, () => ({
      onData() {},
      onClose() {},
    }));
    const port = listener.port;
    await listener.close(); // the port is free now
    let refused = false;
    try {
      const socket = await runtime.connect({ hostname: "127.0.0.1", port }, () => ({
        onData() {},
        onClose() {},
      }));
      socket.close();
    } catch {
      refused = true;
    }
    assert.ok(refused, `A connection to the closed port ${port} was accepted`);
  });
}

/** PEM files of a test CA and a server certificate it signed for 127.0.0.1. */
export interface TlsTestPems {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/**
 * Registers the TLS cases for `runtime`: a connection that trusts the
 * listener's CA talks both ways; one that trusts only the system's roots
 * fails (rejected, or closed with an error) and carries nothing.
 */
export function connectTlsConformance(
  runtime: Runtime,
  test: TestFn,
  pems: () => Promise<TlsTestPems>,
): void {
  const withTlsListener = async (fn: (port: number, caPem: string) => Promise<void>) => {
    const { caPem, certPem, keyPem } = await pems();
    const accepted: Socket[] = [];
    const listener = await runtime.listen(
      {
        hostname: "127.0.0.1",
        port: 0,
        tls: { certPem, keyPem, caPem: undefined, clientAuth: "none" },
      },
      (socket) => {
        accepted.push(socket);
        return { onData: (chunk) => void socket.write(chunk.slice()), onClose: () => {} };
      },
    );
    try {
      await fn(listener.port, caPem);
    } finally {
      for (const s of accepted) s.close();
      await listener.close();
    }
  };

  test(`${runtime.name}: Runtime.connect() over TLS trusting the CA talks both ways`, async () => {
    await withTlsListener(async (port, caPem) => {
      const payload = new Uint8Array(100_000).map((_, i) => i % 253);
      const received: Uint8Array[] = [];
      let receivedBytes = 0;
      let echoed!: () => void;
      const allEchoed = new Promise<void>((resolve) => (echoed = resolve));
      const socket = await runtime.connect({ hostname: "127.0.0.1", port, tls: { caPem } }, () => ({
        onData(chunk) {
          received.push(chunk.slice());
          receivedBytes += chunk.length;
          if (receivedBytes === payload.length) echoed();
        },
        onClose() {},
      }));
      assert.equal(socket.fd, undefined, "A TLS socket must not offer its fd for sendfile");
      await socket.write(payload);
      await allEchoed;
      assert.deepEqual(concatBytes(received), payload);
      socket.close();
    });
  });

  test(`${runtime.name}: Runtime.connect() over TLS refuses a certificate it does not trust`, async () => {
    await withTlsListener(async (port) => {
      let closedWith!: (error: Error | undefined) => void;
      const closed = new Promise<Error | undefined>((resolve) => (closedWith = resolve));
      let data = 0;
      let failure: unknown;
      try {
        const socket = await runtime.connect({ hostname: "127.0.0.1", port, tls: {} }, () => ({
          onData: () => void data++,
          onClose: (error) => closedWith(error),
        }));
        failure = await closed;
        socket.close();
      } catch (error) {
        failure = error;
      }
      assert.ok(failure instanceof Error, "An untrusted certificate was accepted");
      assert.equal(data, 0);
    });
  });
}
