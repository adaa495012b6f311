/**
 * TLS with the broker as a subprocess (`main.ts`): a real SIGHUP reloads the
 * certificate (Deno); client-certificate authentication under Bun
 * (`ssl.client.auth=required` and `requested`, the principal taken from the
 * certificate subject in RFC 2253 order); and under Deno the CLI refusing
 * `ssl.client.auth=required` at start with a sentence saying why.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "../../util/assert.ts";
import { makeDataDir, run } from "./harness.ts";
import { kcatConsume, kcatProduce } from "./kcat.ts";
import { makeTestCertificates, presentedSubject, type TestCertificates } from "./tls_certs.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const RUNTIMES = {
  deno: [join(ROOT, "node_modules/.bin/deno"), "run", "--allow-all", "main.ts"],
  bun: [join(ROOT, "node_modules/.bin/bun"), "run", "main.ts"],
};
/** How long a broker subprocess may take to start or to log an expected line. */
const WAIT_MS = 30_000;

const certs: TestCertificates = await makeTestCertificates();
const caPem = await Deno.readTextFile(certs.caFile);

/** A `main.ts` subprocess whose stderr is read line by line. */
interface BrokerProcess {
  readonly child: Deno.ChildProcess;
  readonly port: number;
  /** Resolves with the first line (seen so far or later) matching `pattern`; fails after WAIT_MS. */
  waitForLine(pattern: RegExp): Promise<string>;
  /** SIGTERM, then the exit status. */
  stop(): Promise<Deno.CommandStatus>;
}

async function startProcess(runtime: "deno" | "bun", args: string[]): Promise<BrokerProcess> {
  const [command, ...base] = RUNTIMES[runtime];
  const child = new Deno.Command(command, {
    args: [...base, "--http", "off", ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  let wake = Promise.withResolvers<void>();
  let ended = false;
  (async () => {
    let pending = "";
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
      const parts = (pending + text).split("\n");
      pending = parts.pop()!;
      lines.push(...parts);
      wake.resolve();
    }
    ended = true;
    wake.resolve();
  })();
  const waitForLine = async (pattern: RegExp): Promise<string> => {
    const timer = setTimeout(() => wake.reject(new Error(`No line ${pattern} in time`)), WAIT_MS);
    try {
      for (let seen = 0;;) {
        const line = lines.slice(seen).find((l) => pattern.test(l));
        if (line !== undefined) return line;
        if (ended) throw new Error(`The broker exited without ${pattern}:\n${lines.join("\n")}`);
        seen = lines.length;
        await wake.promise;
        wake = Promise.withResolvers();
      }
    } finally {
      clearTimeout(timer);
    }
  };
  const listening = await waitForLine(/Denka listening on [^ ]+:(\d+) /).catch(async (e) => {
    child.kill("SIGKILL");
    await child.status;
    throw e;
  });
  return {
    child,
    port: Number(/Denka listening on [^ ]+:(\d+) /.exec(listening)![1]),
    waitForLine,
    stop: () => {
      child.kill("SIGTERM");
      return child.status;
    },
  };
}

/** Runs `fn` with a broker subprocess over a fresh data directory, stopped and removed after. */
async function withProcess(
  runtime: "deno" | "bun",
  args: string[],
  fn: (p: BrokerProcess) => Promise<void>,
): Promise<void> {
  const dataDir = await makeDataDir();
  try {
    const p = await startProcess(runtime, ["--data-dir", dataDir, ...args]);
    try {
      await fn(p);
    } finally {
      assertEquals((await p.stop()).code, 0);
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}

/** An ApiVersions v0 request frame (size, key 18, version 0, correlation id 1, client id). */
function apiVersionsFrame(): Uint8Array {
  const clientId = new TextEncoder().encode("denka-tls");
  const frame = new Uint8Array(4 + 2 + 2 + 4 + 2 + clientId.length);
  const view = new DataView(frame.buffer);
  view.setInt32(0, frame.length - 4);
  view.setInt16(4, 18);
  view.setInt16(6, 0);
  view.setInt32(8, 1);
  view.setInt16(12, clientId.length);
  frame.set(clientId, 14);
  return frame;
}

/**
 * Connects over TLS (with `client` as the client certificate, if given), sends ApiVersions and
 * says whether the broker answered or hung up / failed the handshake.
 */
async function tryApiVersions(
  port: number,
  client?: { certFile: string; keyFile: string },
): Promise<"answered" | "refused"> {
  const identity = client === undefined ? {} : {
    cert: await Deno.readTextFile(client.certFile),
    key: await Deno.readTextFile(client.keyFile),
  };
  let conn: Deno.TlsConn | undefined;
  const timer = setTimeout(() => conn?.close(), WAIT_MS);
  try {
    conn = await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [caPem], ...identity });
    await conn.write(apiVersionsFrame());
    const sizePrefix = new Uint8Array(4);
    return (await conn.read(sizePrefix)) === null ? "refused" : "answered";
  } catch {
    return "refused";
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch { /* closed by the timer or the failure */ }
  }
}

const SERVER_ARGS = ["--tls-cert", certs.certFile, "--tls-key", certs.keyFile];
const CLIENT = { certFile: certs.clientCertFile, keyFile: certs.clientKeyFile };
const STRANGER = { certFile: certs.strangerCertFile, keyFile: certs.strangerKeyFile };

for (const runtime of ["deno", "bun"] as const) {
  Deno.test(`${runtime}: SIGHUP reloads the TLS certificate of a running broker`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "denka-tls-sighup-" });
    const live = { cert: join(dir, "live.pem"), key: join(dir, "live.key") };
    await Deno.copyFile(certs.certFile, live.cert);
    await Deno.copyFile(certs.keyFile, live.key);
    try {
      const args = [
        "--listeners",
        "SSL://127.0.0.1:0",
        "--tls-cert",
        live.cert,
        "--tls-key",
        live.key,
      ];
      await withProcess(runtime, args, async (p) => {
        assertEquals(await presentedSubject(p.port, certs.caFile), "CN = localhost");
        await Deno.copyFile(certs.rotatedCertFile, live.cert);
        await Deno.copyFile(certs.rotatedKeyFile, live.key);
        Deno.kill(p.child.pid, "SIGHUP");
        await p.waitForLine(/TLS certificate reloaded .* on 1 listener/);
        assertEquals(await presentedSubject(p.port, certs.caFile), "O = Rotated, CN = localhost");
        assertEquals(await tryApiVersions(p.port), "answered");
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("Bun, ssl.client.auth=required: the certificate subject is the principal; no certificate, no entry", async () => {
  const statsFile = join(certs.dir, "bun-stats.json");
  const args = [
    "--listeners",
    "SSL://127.0.0.1:0",
    ...SERVER_ARGS,
    "--tls-ca",
    certs.caFile,
    "--ssl-client-auth",
    "required",
    "--log-level",
    "debug",
    "--stats-file",
    statsFile,
  ];
  await withProcess("bun", args, async (p) => {
    assertEquals(await tryApiVersions(p.port), "refused");
    assertEquals(await tryApiVersions(p.port, STRANGER), "refused");
    assertEquals(await tryApiVersions(p.port, CLIENT), "answered");
    const line = await p.waitForLine(/authenticated by its certificate as /);
    assert(line.endsWith(`as ${certs.clientPrincipal}`), line);

    const config = {
      "security.protocol": "ssl",
      "ssl.ca.location": certs.caFile,
      "ssl.certificate.location": certs.clientCertFile,
      "ssl.key.location": certs.clientKeyFile,
    };
    const bootstrap = `127.0.0.1:${p.port}`;
    const messages = Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }));
    await kcatProduce(bootstrap, messages, { topic: "mtls", config });
    const got = await kcatConsume(bootstrap, { topic: "mtls", config });
    assertEquals(got.map((m) => m.value), messages.map((m) => m.value));
  });
  // The counters written at stop: the fetch over TLS copied, nothing went by sendfile.
  const { counters } = JSON.parse(await Deno.readTextFile(statsFile));
  assert(counters.copyBytes > 0, `copyBytes ${counters.copyBytes}`);
  assertEquals(counters.sendfileBytes, 0);
});

Deno.test("Bun, ssl.client.auth=requested: no certificate is anonymous, an unverified one is refused", async () => {
  const args = [
    "--listeners",
    "SSL://127.0.0.1:0",
    ...SERVER_ARGS,
    "--tls-ca",
    certs.caFile,
    "--ssl-client-auth",
    "requested",
    "--log-level",
    "debug",
  ];
  await withProcess("bun", args, async (p) => {
    assertEquals(await tryApiVersions(p.port), "answered");
    assertEquals(await tryApiVersions(p.port, STRANGER), "refused");
    assertEquals(await tryApiVersions(p.port, CLIENT), "answered");
    const line = await p.waitForLine(/authenticated by its certificate as /);
    assert(line.endsWith(`as ${certs.clientPrincipal}`), line);
  });
});

Deno.test("Deno CLI: ssl.client.auth=required fails at start with exit code 2 and the reason", async () => {
  const dataDir = await makeDataDir();
  try {
    const [command, ...base] = RUNTIMES.deno;
    const result = await run(command, [
      ...base,
      "--data-dir",
      dataDir,
      "--http",
      "off",
      "--listeners",
      "SSL://127.0.0.1:0",
      ...SERVER_ARGS,
      "--tls-ca",
      certs.caFile,
      "--ssl-client-auth",
      "required",
    ], { check: false });
    assertEquals(result.code, 2);
    assert(
      /denka: Option "ssl.client.auth" is "required", but Deno's TLS listener \(Deno.listenTls\) cannot ask clients for certificates: run the broker under Bun/
        .test(result.stderrText),
      result.stderrText,
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test({
  name: "TLS process test certificates are removed",
  fn: () => Deno.remove(certs.dir, { recursive: true }),
});
