/**
 * A Python consumer-group member (confluent_kafka or kafka-python) in a
 * subprocess, driven through `py/group_member.py`: its JSON-line events are
 * collected as they arrive, and tests wait on them (with a deadline that
 * fails the test) instead of sleeping. `stop()` leaves the group cleanly;
 * `kill()` is a SIGKILL, so the member never says goodbye.
 *
 * @module
 */
import { PYTHON_PATH, tail } from "./harness.ts";

const SCRIPT = new URL("./py/group_member.py", import.meta.url).pathname;
/** Default deadline of one wait. */
export const MEMBER_WAIT_MS = 30_000;

/** What the member reports. */
export type MemberEvent =
  | { event: "ready" }
  | { event: "assigned"; partitions: number[] }
  | { event: "message"; partition: number; offset: number; value: string }
  | { event: "closed"; count: number };

/** The member's settings (see the script's doc). */
export interface MemberSpec {
  readonly client: "confluent" | "kafka-python";
  readonly bootstrap: string;
  readonly topic: string;
  readonly group: string;
  readonly session_timeout_ms: number;
  readonly max_messages?: number;
  readonly commit?: "sync" | "none";
  readonly config?: Record<string, string | number | boolean>;
}

/** One running member. */
export class PyGroupMember {
  readonly events: MemberEvent[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #listeners = new Set<() => void>();
  readonly #done: Promise<Deno.CommandStatus>;
  #stderr = "";
  #exited = false;

  private constructor(spec: MemberSpec) {
    this.#child = new Deno.Command(PYTHON_PATH, {
      args: [SCRIPT, JSON.stringify(spec)],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { PYTHONDONTWRITEBYTECODE: "1", PYTHONUNBUFFERED: "1" },
    }).spawn();
    const reading = Promise.all([this.#readStdout(), this.#readStderr()]);
    this.#done = reading.then(() => this.#child.status).then((status) => {
      this.#exited = true;
      this.#notify();
      return status;
    });
  }

  /** Starts a member. */
  static start(spec: MemberSpec): PyGroupMember {
    return new PyGroupMember(spec);
  }

  /** The member's latest assignment ([] before the first). */
  assignment(): number[] {
    for (let i = this.events.length - 1; i >= 0; i--) {
      const e = this.events[i];
      if (e.event === "assigned") return e.partitions;
    }
    return [];
  }

  /** The messages it consumed, in order. */
  messages(): Extract<MemberEvent, { event: "message" }>[] {
    return this.events.filter((e) => e.event === "message") as Extract<
      MemberEvent,
      { event: "message" }
    >[];
  }

  /** Resolves once `predicate` holds over the events; fails after `timeoutMs` or if the process exits first. */
  waitFor(
    predicate: (m: PyGroupMember) => boolean,
    what: string,
    timeoutMs = MEMBER_WAIT_MS,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (predicate(this)) {
          finish();
          resolve();
        } else if (this.#exited) {
          finish();
          reject(new Error(`Member exited before ${what}; stderr:\n${tail(this.#stderr)}`));
        }
      };
      const finish = () => {
        clearTimeout(timer);
        this.#listeners.delete(check);
      };
      const timer = setTimeout(() => {
        finish();
        reject(
          new Error(
            `Member did not reach ${what} in ${timeoutMs} ms; stderr:\n${tail(this.#stderr)}`,
          ),
        );
      }, timeoutMs);
      this.#listeners.add(check);
      check();
    });
  }

  /** Asks for a clean stop (commit, LeaveGroup) and waits for exit code 0. */
  async stop(): Promise<void> {
    const writer = this.#child.stdin.getWriter();
    await writer.write(new TextEncoder().encode("stop\n")).catch(() => {});
    await writer.close().catch(() => {});
    const status = await this.#done;
    if (status.code !== 0) {
      throw new Error(`Member exited with ${status.code}; stderr:\n${tail(this.#stderr)}`);
    }
  }

  /** SIGKILL: the member vanishes without leaving its group. */
  async kill(): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch { /* already gone */ }
    await this.#child.stdin.close().catch(() => {});
    await this.#done;
  }

  #notify(): void {
    for (const l of [...this.#listeners]) l();
  }

  async #readStdout(): Promise<void> {
    let pending = "";
    for await (const chunk of this.#child.stdout.pipeThrough(new TextDecoderStream())) {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (line !== "") this.events.push(JSON.parse(line));
      }
      this.#notify();
    }
  }

  async #readStderr(): Promise<void> {
    for await (const chunk of this.#child.stderr.pipeThrough(new TextDecoderStream())) {
      this.#stderr += chunk;
    }
  }
}
