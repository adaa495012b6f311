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
