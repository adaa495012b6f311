/**
 * SCRAM logins per second over real connections: a broker subprocess
 * (`main.ts`, Deno or Bun) with one SASL_PLAINTEXT listener, and
 * `--clients` concurrent clients in this process, each in a loop of connect,
 * SaslHandshake v1, two SaslAuthenticate v2 round trips (client-first,
 * client-final; the server's signature is verified), then close. Clients
 * cache their SaltedPassword, as librdkafka and the Java client do not but a
 * pooled client could, so the figure is the broker's. Also reported: broker
 * CPU seconds per 1000 logins (from /proc).
 *
 * Usage: `deno run -A bench/sasl_logins.ts [--seconds 5] [--clients 16]
 * [--mechanism SCRAM-SHA-256] [--runtime deno|bun]`. Prints one JSON line.
 *
 * @module
 */
import { parseArgs } from "../util/args.ts";
import { ScramClient } from "../broker/security/_test_scram_client.ts";
import {
  SCRAM_ITERATIONS_MIN,
  type ScramMechanism,
  scramSaltedPassword,
} from "../broker/security/scram.ts";
import { saslAuthenticateApi, saslHandshakeApi } from "../protocol/messages/mod.ts";
import { RawConnection } from "../tests/interop/raw_client.ts";
import { addScramUsers } from "../tests/interop/sasl_broker.ts";
import { DENO_PATH, PROJECT_ROOT, sampleProc } from "./broker_proc.ts";

const BUN_PATH = `${PROJECT_ROOT}/node_modules/.bin/bun`;
const START_TIMEOUT_MS = 60_000;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "5" },
    clients: { type: "string", default: "16" },
    mechanism: { type: "string", default: "SCRAM-SHA-256" },
    runtime: { type: "string", default: "deno" },
  },
});
const durationMs = Number(values.seconds) * 1000;
const clientCount = Number(values.clients);
const mechanism = values.mechanism as ScramMechanism;
const PASSWORD = "bench-secret";

/** Starts `main.ts` with one SASL_PLAINTEXT listener; its pid, address and a stop function. */
async function startBroker(dataDir: string) {
  const args = [
    "main.ts",
    "--listeners",
    "SASL_PLAINTEXT://127.0.0.1:0",
    "--data-dir",
    dataDir,
    "--http",
    "off",
    "--log-level",
    "info",
  ];
  const [command, runArgs] = values.runtime === "bun"
    ? [BUN_PATH, ["run", ...args]]
    : [DENO_PATH, ["run", "--allow-all", ...args]];
  const child = new Deno.Command(command, {
    args: runArgs,
    cwd: PROJECT_ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const listening = Promise.withResolvers<number>();
  const timer = setTimeout(
    () => listening.reject(new Error("No listener in time")),
    START_TIMEOUT_MS,
  );
  (async () => {
    let pending = "";
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
      pending += text;
      const m = /Denka listening on [^ ]+:(\d+) /.exec(pending);
      if (m) listening.resolve(Number(m[1]));
      if (pending.length > 65536) pending = pending.slice(-4096);
    }
    listening.reject(new Error(`The broker exited before listening:\n${pending}`));
  })();
  const port = await listening.promise.finally(() => clearTimeout(timer));
  return {
    pid: child.pid,
    bootstrap: `127.0.0.1:${port}`,
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

/** One login on a new connection; throws when refused. */
async function login(bootstrap: string, user: string, saltedPassword: Uint8Array<ArrayBuffer>) {
  const c = await RawConnection.connect(bootstrap, "bench");
  try {
    const handshake = await c.request(saslHandshakeApi, 1, { mechanism });
    if (handshake.errorCode !== 0) throw new Error(`Handshake error ${handshake.errorCode}.`);
    const client = new ScramClient(mechanism, user, PASSWORD, { saltedPassword });
    const first = await c.request(saslAuthenticateApi, 2, { authBytes: client.firstMessage() });
    if (first.errorCode !== 0) throw new Error(`Login refused: ${first.errorMessage}`);
    const final = await c.request(saslAuthenticateApi, 2, {
      authBytes: await client.finalMessage(first.authBytes),
    });
    if (final.errorCode !== 0 || !client.verifyServerFinal(final.authBytes)) {
      throw new Error(`Login refused: ${final.errorMessage}`);
    }
  } finally {
    c.close();
  }
}

const dir = await Deno.makeTempDir({ prefix: "denka-bench-sasl-" });
try {
  const users = Array.from({ length: clientCount }, (_, i) => `user-${i}`);
  await addScramUsers(
    dir,
    users.map((name) => ({ name, password: PASSWORD, mechanisms: [mechanism] })),
  );
  const broker = await startBroker(dir);
  try {
    const salted = new Map<string, Uint8Array<ArrayBuffer>>();
    const saltedFor = async (user: string) => {
      // One uncached login per user to learn the salt (not timed).
      const c = await RawConnection.connect(broker.bootstrap, "bench");
      try {
        await c.request(saslHandshakeApi, 1, { mechanism });
        const probe = new ScramClient(mechanism, user, PASSWORD);
        const first = await c.request(saslAuthenticateApi, 2, { authBytes: probe.firstMessage() });
        const m = /s=([^,]+),i=(\d+)/.exec(new TextDecoder().decode(first.authBytes))!;
        const salt = Uint8Array.from(atob(m[1]), (ch) => ch.charCodeAt(0));
        return await scramSaltedPassword(mechanism, PASSWORD, { salt, iterations: Number(m[2]) });
      } finally {
        c.close();
      }
    };
    for (const user of users) salted.set(user, await saltedFor(user));
    // Warm-up, then the timed run.
    for (const user of users) await login(broker.bootstrap, user, salted.get(user)!);
    const cpuBefore = sampleProc(broker.pid).cpuSeconds;
    const startedMs = performance.now();
    let logins = 0;
    await Promise.all(users.map(async (user) => {
      while (performance.now() - startedMs < durationMs) {
        await login(broker.bootstrap, user, salted.get(user)!);
        logins++;
      }
    }));
    const seconds = (performance.now() - startedMs) / 1000;
    const cpuSeconds = sampleProc(broker.pid).cpuSeconds - cpuBefore;
    console.log(JSON.stringify({
      runtime: values.runtime,
      mechanism,
      iterations: SCRAM_ITERATIONS_MIN,
      clients: clientCount,
      seconds: Number(seconds.toFixed(2)),
      logins,
      loginsPerSec: Math.round(logins / seconds),
      brokerCpuSecondsPer1000Logins: Number((cpuSeconds / logins * 1000).toFixed(3)),
    }));
  } finally {
    await broker.stop();
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
