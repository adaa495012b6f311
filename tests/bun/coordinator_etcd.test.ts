/**
 * The coordinator conformance suite (`broker/cluster/_coordinator_conformance.ts`)
 * on the etcd adapter under Bun (`deno task test:bun`): the adapter speaks to
 * etcd with plain `fetch`, and this is where Bun's `fetch` (streamed watch
 * and observe bodies, aborts, timeouts) meets a real etcd. The etcd is
 * started here with `Bun.spawn` on free loopback ports, ready when it logs
 * that it serves clients, and killed by its PID; the cases are skipped if
 * `/usr/bin/etcd` is absent.
 *
 * @module
 */
import { afterAll, beforeAll, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { coordinatorConformanceCases } from "../../broker/cluster/_coordinator_conformance.ts";
import { etcdHarness } from "../cluster/etcd_harness.ts";

const ETCD_BINARY_PATH = "/usr/bin/etcd";
const ETCD_START_TIMEOUT_MS = 20_000;
const READY_LINE = "serving insecure client requests on";
const installed = existsSync(ETCD_BINARY_PATH);
if (!installed) {
  console.warn("/usr/bin/etcd is absent (Debian package etcd-server): the etcd cases are skipped");
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

let etcd: { clientUrl: string; proc: ReturnType<typeof Bun.spawn>; dataDir: string } | undefined;

async function startEtcd() {
  const dataDir = mkdtempSync(join(tmpdir(), "denka-etcd-bun-"));
  const clientUrl = `http://127.0.0.1:${await freePort()}`;
  const peerUrl = `http://127.0.0.1:${await freePort()}`;
  const proc = Bun.spawn([
    ETCD_BINARY_PATH,
    "--name=denka-test",
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=denka-test=${peerUrl}`,
  ], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  const lines: string[] = [];
  const ready = Promise.withResolvers<void>();
  // Read stderr to the end (a full pipe would stall etcd); resolve when it serves clients.
  (async () => {
    let buffer = "";
    for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) {
      buffer += new TextDecoder().decode(chunk);
      for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        lines.push(line);
        if (lines.length > 40) lines.shift();
        if (line.includes(READY_LINE)) ready.resolve();
      }
    }
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    ready.promise.then(() => "ready"),
    proc.exited.then(() => "exited"),
    new Promise((resolve) => (timer = setTimeout(() => resolve("timeout"), ETCD_START_TIMEOUT_MS))),
  ]);
  clearTimeout(timer);
  if (outcome !== "ready") {
    proc.kill("SIGKILL");
    await proc.exited;
    rmSync(dataDir, { recursive: true, force: true });
    throw new Error(`etcd did not start (${outcome}); its last lines:\n${lines.join("\n")}`);
  }
  return { clientUrl, proc, dataDir };
}

beforeAll(async () => {
  if (installed) etcd = await startEtcd();
});

afterAll(async () => {
  if (etcd === undefined) return;
  etcd.proc.kill("SIGTERM");
  await etcd.proc.exited;
  rmSync(etcd.dataDir, { recursive: true, force: true });
});

for (const { name, fn } of coordinatorConformanceCases) {
  test.skipIf(!installed)(`EtcdCoordinator under Bun: ${name}`, async () => {
    const harness = etcdHarness(etcd!);
    try {
      await fn(harness);
    } finally {
      await harness.close();
    }
  });
}
