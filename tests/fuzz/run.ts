/**
 * The fuzz loop: start the broker as a subprocess, then case after case
 * (seeded by (seed, index)) write the case's bytes on a fresh connection,
 * check what the case expects, and check that the broker is alive, answers
 * ApiVersions on a fresh connection within {@linkcode LIVENESS_TIMEOUT_MS},
 * logged no bug, and stays under the RSS bound; at the end read everything
 * back ({@linkcode readBack}).
 *
 * @module
 */
import { Reader } from "../../protocol/primitives.ts";
import { readResponseHeader } from "../../protocol/frame.ts";
import { apiTable } from "../../protocol/messages/mod.ts";
import { RawConnection } from "../interop/raw_client.ts";
import { BrokerChild, type Runtime } from "./broker_child.ts";
import { FAMILIES, type Family, type FuzzCase, makeCase, REQUEST_MAX_BYTES } from "./cases.ts";
import { checkBatch } from "./check_batch.ts";
import { toHex } from "./prng.ts";
import { COMPACTED_TOPIC } from "./requests.ts";
import {
  advertisedApis,
  createFuzzedTopics,
  LIVENESS_TIMEOUT_MS,
  livenessProblem,
} from "./setup.ts";
import { readBack } from "./verify.ts";

/**
 * The broker's RSS must stay below this: 512 MiB, about twice the peak of 10-minute runs with
 * every family (Deno 232 MiB, Bun 133 MiB; frames are at most 8 MiB here). Before record
 * validation and the cleaner's containment, a batch claiming 2^31-1 records took it to 3-5 GiB.
 */
export const RSS_BYTES_MAX = 512 * 1024 * 1024;
/** How long a case's answer is waited for (long polls with mutated wait times are let go). */
const CASE_ANSWER_MS = 1000;
/** How long each further answer of a sequence is waited for (an acks=0 produce has none). */
const SEQUENCE_ANSWER_MS = 200;
/** How long a well-formed produce's answer may take. */
const PRODUCE_ANSWER_MS = 10_000;
/** How long a broker that fails the liveness probe is given to show it has exited. */
const EXIT_WAIT_MS = 2000;
/** Hex of a case's bytes in a report, at most. */
const REPORT_HEX_BYTES_MAX = 4096;

/** Options of {@linkcode runFuzz}. */
export interface FuzzOptions {
  readonly seed: number;
  readonly seconds: number;
  readonly runtime: Runtime;
  readonly families?: readonly Family[];
  /** Run only these case indices (replay). */
  readonly only?: readonly number[];
  /** Stop at the first crash or hang (CI); otherwise restart the broker on a fresh data dir. */
  readonly stopOnFatal?: boolean;
  /** Consume the fuzzed topics with kcat at the end (default true). */
  readonly kcat?: boolean;
  readonly rssBytesMax?: number;
  /** Progress lines. */
  readonly log?: (line: string) => void;
}

/** A failure, with what reproduces it. */
export interface FuzzFailure {
  readonly kind:
    | "crash"
    | "hang"
    | "rss"
    | "bug-log"
    | "accepted-invalid"
    | "closed-instead-of-answer"
    | "readback"
    | "unclean-stop";
  readonly seed: number;
  /** The case index (-1 for the read-back and the stop). */
  readonly index: number;
  readonly what: string;
  readonly detail: string;
  readonly hex?: string;
}

/** What a run did. */
export interface FuzzReport {
  readonly seed: number;
  readonly runtime: Runtime;
  readonly cases: number;
  readonly durationMs: number;
  readonly perFamily: Record<string, number>;
  readonly unanswered: number;
  /** Unanswered well-formed requests by API (long polls and group waits are expected here). */
  readonly unansweredWellFormed: Record<string, number>;
  readonly peakRssBytes: number;
  readonly batchesReadBack: number;
  readonly brokerStarts: number;
  readonly failures: FuzzFailure[];
}

function hexOf(c: FuzzCase): string {
  const h = toHex(c.bytes.subarray(0, REPORT_HEX_BYTES_MAX));
  return c.bytes.length > REPORT_HEX_BYTES_MAX ? `${h}... (${c.bytes.length} bytes)` : h;
}

/** The first partition error code of a produce answer, or a problem string. */
function produceErrorCode(body: Uint8Array, version: number): number | string {
  const r = new Reader(body);
  readResponseHeader(r, 0, version);
  const res = apiTable[0]!.decodeResponse(r, version) as {
    responses: { partitionResponses: { errorCode: number }[] }[];
  };
  if (r.error !== undefined) return `undecodable produce answer: ${r.error}`;
  const p = res.responses[0]?.partitionResponses[0];
  return p === undefined ? "produce answer without a partition" : p.errorCode;
}

/** Writes one case and checks its own expectation; returns a failure or undefined. */
async function runCase(
  broker: BrokerChild,
  c: FuzzCase,
  counts: { unanswered: number; unansweredWellFormed: Record<string, number> },
): Promise<Omit<FuzzFailure, "seed" | "index" | "what" | "hex"> | undefined> {
  const conn = await RawConnection.connect(broker.bootstrap, "denka-fuzz");
  try {
    try {
      await conn.send(c.bytes);
    } catch { /* the broker hung up mid-write: fine */ }
    if (c.expect.kind === "hang-up") return undefined;
    const waitMs = c.expect.kind === "any" ? CASE_ANSWER_MS : PRODUCE_ANSWER_MS;
    let answer;
    try {
      answer = await conn.readFrame(waitMs);
    } catch {
      counts.unanswered++;
      if (c.family === "wellformed") {
        counts.unansweredWellFormed[c.what] = (counts.unansweredWellFormed[c.what] ?? 0) + 1;
      }
      if (c.expect.kind === "any") return undefined;
      return { kind: "hang", detail: `no answer to a well-formed produce in ${waitMs} ms` };
    }
    if (c.expect.kind === "any") {
      // Read the answers to the rest of a sequence too, so that they are encoded and sent.
      for (let i = 1; i < (c.expect.frames ?? 1) && answer.kind === "frame"; i++) {
        answer = await conn.readFrame(SEQUENCE_ANSWER_MS).catch(() => ({
          kind: "closed" as const,
        }));
      }
      return undefined;
    }
    if (answer.kind === "closed") {
      return {
        kind: "closed-instead-of-answer",
        detail: "the broker closed the connection instead of answering a well-formed produce",
      };
    }
    const code = produceErrorCode(answer.body, c.apiVersion!);
    if (typeof code === "string") return { kind: "accepted-invalid", detail: code };
    if (c.expect.kind === "refused") {
      if (code === 0) {
        return {
          kind: "accepted-invalid",
          detail: `produce accepted a batch breaking "${c.expect.rule}"`,
        };
      }
      return undefined;
    }
    if (code !== 0) return undefined;
    const problem = checkBatch(c.expect.batch, { keyRequired: c.expect.topic === COMPACTED_TOPIC });
    if (problem !== undefined) {
      return {
        kind: "accepted-invalid",
        detail: `produce accepted a batch the checker refuses: ${problem}`,
      };
    }
    return undefined;
  } finally {
    conn.close();
  }
}

/** Starts a broker on a fresh data dir with the fuzzed topics. */
async function startBroker(runtime: Runtime): Promise<{ broker: BrokerChild; dataDir: string }> {
  const dataDir = await Deno.makeTempDir({ prefix: "denka-fuzz-" });
  const broker = await BrokerChild.start(runtime, dataDir, [
    "--request-max-bytes",
    String(REQUEST_MAX_BYTES),
    "--retention-check-interval-ms",
    "300",
  ]);
  await createFuzzedTopics(broker.bootstrap);
  return { broker, dataDir };
}

/** Checks the broker after a case: alive, answering, no bug logged, RSS under the bound. */
async function brokerProblems(
  broker: BrokerChild,
  rssBytesMax: number,
  state: { peakRssBytes: number; rssReported: boolean },
): Promise<Omit<FuzzFailure, "seed" | "index" | "what" | "hex">[]> {
  const out: Omit<FuzzFailure, "seed" | "index" | "what" | "hex">[] = [];
  const bugs = broker.takeBugLines();
  if (bugs.length > 0) out.push({ kind: "bug-log", detail: bugs.join("\n").slice(0, 4000) });
  if (broker.exited === undefined) {
    const problem = await livenessProblem(broker.bootstrap);
    if (problem !== undefined) await broker.waitExit(EXIT_WAIT_MS); // a crash, or a hang?
    if (problem !== undefined && broker.exited === undefined) {
      out.push({ kind: "hang", detail: problem });
    }
  }
  if (broker.exited !== undefined) {
    out.push({
      kind: "crash",
      detail:
        `the broker exited with ${broker.exited.code} (signal ${broker.exited.signal}); log tail:\n${broker.logTail}`,
    });
    return out;
  }
  const rss = broker.rssBytes();
  state.peakRssBytes = Math.max(state.peakRssBytes, rss);
  if (rss > rssBytesMax && !state.rssReported) {
    state.rssReported = true;
    out.push({
      kind: "rss",
      detail: `RSS ${Math.round(rss / 1048576)} MiB over the bound of ${
        Math.round(rssBytesMax / 1048576)
      } MiB`,
    });
  }
  return out;
}

/** One run's broker, counters and failures. */
class FuzzSession {
  readonly options: FuzzOptions;
  readonly failures: FuzzFailure[] = [];
  readonly perFamily: Record<string, number> = {};
  readonly counts = { unanswered: 0, unansweredWellFormed: {} };
  readonly rss = { peakRssBytes: 0, rssReported: false };
  broker: BrokerChild;
  dataDir: string;
  brokerStarts = 1;
  cases = 0;
  batchesReadBack = 0;

  constructor(options: FuzzOptions, started: { broker: BrokerChild; dataDir: string }) {
    this.options = options;
    this.broker = started.broker;
    this.dataDir = started.dataDir;
  }

  #record(failure: FuzzFailure): void {
    this.failures.push(failure);
    this.options.log?.(formatFailure(failure));
  }

  /** Runs case `c` and the checks after it; false when the run must stop. */
  async step(c: FuzzCase): Promise<boolean> {
    this.cases++;
    this.perFamily[c.family] = (this.perFamily[c.family] ?? 0) + 1;
    const own = await runCase(this.broker, c, this.counts).catch((e) => ({
      kind: "hang" as const,
      detail: `case could not run: ${(e as Error).message}`,
    }));
    const rssBytesMax = this.options.rssBytesMax ?? RSS_BYTES_MAX;
    const found = await brokerProblems(this.broker, rssBytesMax, this.rss);
    // A case that could not run because the broker had died is the crash, reported once.
    if (own !== undefined && !found.some((f) => f.kind === "crash")) found.unshift(own);
    for (const f of found) {
      this.#record({
        ...f,
        seed: c.seed,
        index: c.index,
        what: `${c.family}: ${c.what}`,
        hex: hexOf(c),
      });
    }
    if (found.some((f) => f.kind === "crash" || f.kind === "hang")) {
      if (this.options.stopOnFatal) return false;
      await this.close();
      ({ broker: this.broker, dataDir: this.dataDir } = await startBroker(this.options.runtime));
      this.brokerStarts++;
    }
    if (this.cases % 1000 === 0) {
      const rssMiB = Math.round(this.broker.rssBytes() / 1048576);
      this.options.log?.(
        `${this.cases} cases, ${this.failures.length} failures, RSS ${rssMiB} MiB`,
      );
    }
    return true;
  }

  /** Reads back the fuzzed topics of the running broker (see `verify.ts`). */
  async readBack(): Promise<void> {
    if (this.broker.exited !== undefined) return;
    const back = await readBack(this.broker.bootstrap, { kcat: this.options.kcat ?? true });
    this.batchesReadBack += back.batches;
    for (const f of back.failures) {
      this.#record({
        kind: "readback",
        seed: this.options.seed,
        index: -1,
        what: `${f.topic}-${f.partition} offset ${f.offset}`,
        detail: f.problem,
        hex: f.hex,
      });
    }
  }

  /** Stops the broker (SIGTERM must end it cleanly) and removes its data dir. */
  async close(): Promise<void> {
    const crashed = this.broker.exited !== undefined;
    const status = await this.broker.stop();
    if (status.code !== 0 && !crashed) {
      this.#record({
        kind: "unclean-stop",
        seed: this.options.seed,
        index: -1,
        what: "SIGTERM",
        detail: `exit code ${status.code}; log tail:\n${this.broker.logTail}`,
      });
    }
    await Deno.remove(this.dataDir, { recursive: true }).catch(() => {});
  }
}

/** Runs the fuzz loop for `options.seconds` (or over `options.only`); see the module doc. */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const families = options.families ?? FAMILIES;
  const startedMs = performance.now();
  const deadlineMs = startedMs + options.seconds * 1000;
  const session = new FuzzSession(options, await startBroker(options.runtime));
  try {
    const apis = await advertisedApis(session.broker.bootstrap);
    options.log?.(
      `broker pid ${session.broker.pid} (${options.runtime}) at ${session.broker.bootstrap}, ` +
        `${apis.length} APIs advertised`,
    );
    const only = options.only;
    for (let i = 0; only !== undefined ? i < only.length : performance.now() < deadlineMs; i++) {
      const c = makeCase(options.seed, only !== undefined ? only[i] : i, apis, families);
      if (!(await session.step(c))) break;
    }
    await session.readBack();
  } finally {
    await session.close();
  }
  return {
    seed: options.seed,
    runtime: options.runtime,
    cases: session.cases,
    durationMs: Math.round(performance.now() - startedMs),
    perFamily: session.perFamily,
    unanswered: session.counts.unanswered,
    unansweredWellFormed: session.counts.unansweredWellFormed,
    peakRssBytes: session.rss.peakRssBytes,
    batchesReadBack: session.batchesReadBack,
    brokerStarts: session.brokerStarts,
    failures: session.failures,
  };
}

/** One failure as the report prints it (seed, case, what, detail, hex). */
export function formatFailure(f: FuzzFailure): string {
  const where = f.index >= 0 ? `seed ${f.seed} case ${f.index}` : `seed ${f.seed}`;
  return `FAIL [${f.kind}] ${where}: ${f.what}\n  ${f.detail.replaceAll("\n", "\n  ")}` +
    (f.hex !== undefined ? `\n  hex: ${f.hex}` : "");
}

export { LIVENESS_TIMEOUT_MS };
