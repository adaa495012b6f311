/**
 * The chaos test's clients: `py/chaos_produce.py` and `py/chaos_consume.py`
 * (confluent-kafka-python) as subprocesses streaming one line per record;
 * this side keeps what they report and lets a caller wait for a line.
 *
 * @module
 */
import type { ClientRecord } from "./chaos_checker.ts";

const PYTHON_PATH = "/usr/bin/python3";
const PRODUCER_PATH = new URL("./py/chaos_produce.py", import.meta.url).pathname;
const CONSUMER_PATH = new URL("./py/chaos_consume.py", import.meta.url).pathname;

/** An acknowledgement with the producer's wall clock at its delivery report. */
export interface Ack extends ClientRecord {
  readonly atMs: number;
}

/** A Python client subprocess; lines go to `onLine` as they come. */
class PythonClient {
  readonly #child: Deno.ChildProcess;
  readonly #done: Promise<void>;
  readonly stderr: string[] = [];

  constructor(script: string, spec: unknown, onLine: (line: string) => void) {
    this.#child = new Deno.Command(PYTHON_PATH, {
      args: [script, JSON.stringify(spec)],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const read = async (stream: ReadableStream<Uint8Array>, each: (line: string) => void) => {
      let buffer = "";
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        buffer += chunk;
        for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
          each(buffer.slice(0, nl));
          buffer = buffer.slice(nl + 1);
        }
      }
    };
    this.#done = Promise.all([
      read(this.#child.stdout, onLine),
      read(this.#child.stderr, (line) => {
        this.stderr.push(line);
        if (this.stderr.length > 50) this.stderr.shift();
      }),
    ]).then(() => {});
  }

  /** Tells the client to stop (a line on stdin) and waits for it to flush and exit. */
  async stop(): Promise<number> {
    const writer = this.#child.stdin.getWriter();
    await writer.write(new TextEncoder().encode("stop\n")).catch(() => {});
    await writer.close().catch(() => {});
    await this.#done;
    return (await this.#child.status).code;
  }
}

/** The idempotent acks=all producer and what it was told. */
export class ChaosProducer {
  readonly acks: Ack[] = [];
  readonly errors: string[] = [];
  undelivered = -1;
  readonly #client: PythonClient;
  #waiters: { test: (a: Ack) => boolean; resolve: (a: Ack) => void }[] = [];

  constructor(
    spec: {
      bootstrap: string;
      topic: string;
      partitions: number;
      ratePerS: number;
      flushTimeoutS: number;
    },
  ) {
    this.#client = new PythonClient(PRODUCER_PATH, {
      bootstrap: spec.bootstrap,
      topic: spec.topic,
      partitions: spec.partitions,
      rate_per_s: spec.ratePerS,
      flush_timeout_s: spec.flushTimeoutS,
    }, (line) => this.#onLine(line));
  }

  #onLine(line: string): void {
    const [kind, ...rest] = line.split(" ");
    if (kind === "ack") {
      const [partition, offset, value, atMs] = rest;
      const ack = {
        partition: Number(partition),
        offset: Number(offset),
        value,
        atMs: Number(atMs),
      };
      this.acks.push(ack);
      const waiting = this.#waiters;
      this.#waiters = [];
      for (const w of waiting) {
        if (w.test(ack)) w.resolve(ack);
        else this.#waiters.push(w);
      }
    } else if (kind === "err") this.errors.push(rest.join(" "));
    else if (kind === "done") this.undelivered = Number(rest[0]);
  }

  /** The first acknowledgement (from now on) that satisfies `test`. */
  nextAck(test: (a: Ack) => boolean): Promise<Ack> {
    return new Promise((resolve) => this.#waiters.push({ test, resolve }));
  }

  get stderr(): string[] {
    return this.#client.stderr;
  }

  /** Stops producing and waits until every message is delivered or failed. */
  stop(): Promise<number> {
    return this.#client.stop();
  }
}

/** The read_uncommitted consumer and what it saw. */
export class ChaosConsumer {
  readonly seen: ClientRecord[] = [];
  readonly #client: PythonClient;

  constructor(spec: { bootstrap: string; topic: string; partitions: number }) {
    this.#client = new PythonClient(CONSUMER_PATH, spec, (line) => {
      const [kind, partition, offset, value] = line.split(" ");
      if (kind === "see") {
        this.seen.push({ partition: Number(partition), offset: Number(offset), value });
      }
    });
  }

  get stderr(): string[] {
    return this.#client.stderr;
  }

  stop(): Promise<number> {
    return this.#client.stop();
  }
}
