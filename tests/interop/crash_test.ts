/**
 * The durability crash test: a real idempotent producer (confluent-kafka-python,
 * librdkafka, acks=all) keeps sending while the broker PROCESS (`deno run
 * main.ts`) is SIGKILLed several times. After each restart every message
 * acknowledged before the kill must be readable exactly once and in order.
 * Run with `--flush sync` (acks=all waits for fdatasync) and in the default
 * page-cache mode, where the number of acknowledged messages lost to a
 * process kill is reported (it must be zero: the page cache survives).
 */
import { assert } from "../../util/assert.ts";
import { KCAT_PATH } from "./kcat.ts";
import { PYTHON_PATH, run, tail, topicName } from "./harness.ts";

const MAIN_PATH = new URL("../../main.ts", import.meta.url).pathname;
const PRODUCER_PATH = new URL("./py/confluent_crash_produce.py", import.meta.url).pathname;
const MESSAGE_COUNT = 6000;
/** Acknowledged messages after which the broker is killed. */
const KILL_AFTER_ACKS = [800, 2500, 4200];
const START_TIMEOUT_MS = 30_000;

/** A broker subprocess with its stderr collected. */
interface BrokerProcess {
  readonly child: Deno.ChildProcess;
  readonly stderr: () => string;
}

async function startBrokerProcess(
  dataDir: string,
  port: number,
  flush: "sync" | "async",
): Promise<BrokerProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      MAIN_PATH,
      "--listen",
      `127.0.0.1:${port}`,
      "--data-dir",
      dataDir,
      "--flush",
      flush,
      "--http",
      "off",
      "--log-level",
      "info",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  let ready: () => void = () => {};
  const started = new Promise<void>((resolve) => (ready = resolve));
  void (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      if (text.includes("Denka listening")) ready();
    }
  })();
  const timer = setTimeout(() => ready(), START_TIMEOUT_MS);
  await started;
  clearTimeout(timer);
  assert.ok(text.includes("Denka listening"), `The broker did not start:\n${tail(text)}`);
  return { child, stderr: () => text };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** The values "m-<i>" stored in partition 0, as numbers, in offset order (kcat to the end). */
async function consumeAll(bootstrap: string, topic: string): Promise<number[]> {
  const result = await run(KCAT_PATH, [
    "-b",
    bootstrap,
    "-C",
    "-t",
    topic,
    "-p",
    "0",
    "-o",
    "beginning",
    "-e",
    "-q",
    "-f",
    "%s\\n",
  ], { timeoutMs: 30_000 });
  return result.stdoutText.split("\n").filter((l) => l !== "").map((l) => Number(l.slice(2)));
}

/** Reads "ack"/"err"/"done" lines from the producer, calling `onLine` for each. */
async function readProducer(
  child: Deno.ChildProcess,
  onLine: (line: string) => Promise<void>,
): Promise<void> {
  let buffered = "";
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    let newline;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      await onLine(line);
    }
  }
}

/** Checks the stored sequence: strictly increasing (no duplicate, in order), holding every acked one. */
function checkStored(stored: number[], acked: ReadonlySet<number>, label: string): number {
  for (let i = 1; i < stored.length; i++) {
    assert.ok(
      stored[i] > stored[i - 1],
      `${label}: m-${stored[i]} follows m-${stored[i - 1]} (duplicate or out of order)`,
    );
  }
  const present = new Set(stored);
  let lost = 0;
  for (const i of acked) if (!present.has(i)) lost++;
  return lost;
}

async function crashLoop(flush: "sync" | "async"): Promise<{ lost: number; kills: number }> {
  const dataDir = await Deno.makeTempDir({ prefix: "denka-crash-" });
  const port = freePort();
  const bootstrap = `127.0.0.1:${port}`;
  const topic = topicName(`crash-${flush}`);
  let broker = await startBrokerProcess(dataDir, port, flush);
  const producer = new Deno.Command(PYTHON_PATH, {
    args: [PRODUCER_PATH],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { PYTHONDONTWRITEBYTECODE: "1", PYTHONUNBUFFERED: "1" },
  }).spawn();
  const stdin = producer.stdin.getWriter();
  await stdin.write(
    new TextEncoder().encode(JSON.stringify({ bootstrap, topic, count: MESSAGE_COUNT })),
  );
  await stdin.close();
  const acked = new Set<number>();
  const errors: string[] = [];
  let lost = 0;
  let kills = 0;
  let done = "";
  const watchdog = setTimeout(() => producer.kill("SIGKILL"), 240_000);
  try {
    await readProducer(producer, async (line) => {
      const [kind, index] = line.split(" ");
      if (kind === "ack") acked.add(Number(index));
      else if (kind === "err") errors.push(line);
      else if (kind === "done") done = line;
      if (
        kind === "ack" && kills < KILL_AFTER_ACKS.length && acked.size >= KILL_AFTER_ACKS[kills]
      ) {
        kills++;
        const ackedAtKill = new Set(acked);
        broker.child.kill("SIGKILL");
        await broker.child.status;
        broker = await startBrokerProcess(dataDir, port, flush);
        assert.ok(/started in [\d.]+ ms/.test(broker.stderr()), "Start-up time is logged");
        const stored = await consumeAll(bootstrap, topic);
        lost += checkStored(stored, ackedAtKill, `after kill ${kills}`);
      }
    });
    assert.equal(errors.length, 0, errors.slice(0, 5).join("\n"));
    assert.equal(done, "done 0");
    assert.equal(kills, KILL_AFTER_ACKS.length);
    assert.equal(acked.size, MESSAGE_COUNT);
    const stored = await consumeAll(bootstrap, topic);
    lost += checkStored(stored, acked, "at the end");
    assert.deepEqual(stored, Array.from({ length: MESSAGE_COUNT }, (_, i) => i));
    return { lost, kills };
  } finally {
    clearTimeout(watchdog);
    try {
      producer.kill("SIGKILL");
    } catch { /* exited */ }
    await producer.status;
    broker.child.kill("SIGTERM");
    await broker.child.status;
    await Deno.remove(dataDir, { recursive: true });
  }
}

Deno.test({
  name: "Crash test, --flush sync: every acked message survives SIGKILL exactly once, in order",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { lost, kills } = await crashLoop("sync");
    console.log(`flush sync: ${kills} SIGKILLs, ${lost} acknowledged message(s) lost`);
    assert.equal(lost, 0);
  },
});

Deno.test({
  name: "Crash test, page-cache mode: a process kill loses no acknowledged message",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { lost, kills } = await crashLoop("async");
    console.log(
      `flush async (page cache): ${kills} SIGKILLs, ${lost} acknowledged message(s) lost`,
    );
    assert.equal(lost, 0);
  },
});
