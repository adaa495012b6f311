/**
 * A tiny levelled logger writing one line per event to stderr. Loggers are
 * named by component (`denka`, `denka/groups`, ...); their levels live in
 * one {@linkcode LogLevels}, which can change them at run time (Kafka's
 * `broker-loggers`): a logger without a level of its own takes its nearest
 * ancestor's, and the root logger's in the end.
 *
 * @module
 */

/** Log levels, least to most severe. */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

const rank: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };

/** The root logger's component name. */
export const ROOT_LOGGER = "denka";

/** A logger bound to a component name. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  child(component: string): Logger;
}

/** The levels of every logger made from it, changeable at run time. */
export class LogLevels {
  #root: LogLevel;
  readonly #own = new Map<string, LogLevel>();
  readonly #known = new Set<string>([ROOT_LOGGER]);

  constructor(rootLevel: LogLevel) {
    this.#root = rootLevel;
  }

  /** Every logger made so far, root first, then by name. */
  names(): string[] {
    const others = [...this.#known].filter((n) => n !== ROOT_LOGGER).sort();
    return [ROOT_LOGGER, ...others];
  }

  /** Whether a logger of that name was made. */
  has(component: string): boolean {
    return this.#known.has(component);
  }

  /** A logger's effective level: its own, else its nearest ancestor's, else the root's. */
  levelOf(component: string): LogLevel {
    for (let name = component;;) {
      if (name === ROOT_LOGGER) return this.#root;
      const own = this.#own.get(name);
      if (own !== undefined) return own;
      const slash = name.lastIndexOf("/");
      if (slash < 0) return this.#root;
      name = name.slice(0, slash);
    }
  }

  /** Sets a logger's level (the root's sets the default of every logger without its own). */
  set(component: string, level: LogLevel): void {
    if (component === ROOT_LOGGER) this.#root = level;
    else this.#own.set(component, level);
  }

  /** Drops a logger's own level: it takes its ancestor's again. The root keeps its level. */
  reset(component: string): void {
    this.#own.delete(component);
  }

  /** Records a logger's name (done by {@linkcode createLogger}). */
  register(component: string): void {
    this.#known.add(component);
  }
}

/**
 * Makes a logger that prints messages at its level or above: a fixed `level`, or
 * whatever `levels` says for `component` at the time of each message.
 */
export function createLogger(level: LogLevel | LogLevels, component = ROOT_LOGGER): Logger {
  const levels = typeof level === "string" ? undefined : level;
  levels?.register(component);
  const emit = (at: LogLevel, message: string) => {
    const current = levels === undefined ? level as LogLevel : levels.levelOf(component);
    if (rank[at] < rank[current]) return;
    console.error(`${new Date().toISOString()} ${at.toUpperCase()} [${component}] ${message}`);
  };
  return {
    debug: (m) => emit("debug", m),
    info: (m) => emit("info", m),
    warn: (m) => emit("warn", m),
    error: (m) => emit("error", m),
    child: (c) => createLogger(level, `${component}/${c}`),
  };
}

/** Messages of one kind logged per interval before the rest are only counted. */
export const RATE_LIMITED_MESSAGES_PER_INTERVAL_MAX = 10;
/** The interval of {@linkcode LogRateLimiter}. */
export const RATE_LIMIT_INTERVAL_MS = 60_000;

/** Options of {@linkcode LogRateLimiter}. */
export interface LogRateLimiterOptions {
  /** Messages of one kind logged per interval (default {@linkcode RATE_LIMITED_MESSAGES_PER_INTERVAL_MAX}). */
  readonly messagesPerIntervalMax?: number;
  /** Default {@linkcode RATE_LIMIT_INTERVAL_MS}. */
  readonly intervalMs?: number;
  /** The clock (default `Date.now`; tests inject their own). */
  readonly nowMs?: () => number;
}

interface KindWindow {
  startMs: number;
  logged: number;
  suppressed: number;
}

/**
 * Keeps repeated messages of one kind from flooding the log (a client that
 * opens bad connections in a loop, a full disk failing every append, a failing
 * accept). Per kind, at most `messagesPerIntervalMax` messages are logged in a
 * fixed window of `intervalMs` starting at the first of them; the rest are
 * counted, and the first message logged in a later window ends with
 * `(N similar messages suppressed)`. Nothing runs between messages: a count
 * is reported with the next message of its kind, or by
 * {@linkcode LogRateLimiter.flush} (the broker calls it at stop).
 *
 * A kind is a constant chosen in code ("connection-closed", "append-failed"),
 * never a value a client sends, so the table of kinds stays small.
 */
export class LogRateLimiter {
  readonly #logger: Logger;
  readonly #messagesPerIntervalMax: number;
  readonly #intervalMs: number;
  readonly #nowMs: () => number;
  readonly #windows = new Map<string, KindWindow & { level: LogLevel }>();

  constructor(logger: Logger, options: LogRateLimiterOptions = {}) {
    this.#logger = logger;
    this.#messagesPerIntervalMax = options.messagesPerIntervalMax ??
      RATE_LIMITED_MESSAGES_PER_INTERVAL_MAX;
    this.#intervalMs = options.intervalMs ?? RATE_LIMIT_INTERVAL_MS;
    this.#nowMs = options.nowMs ?? Date.now;
  }

  /** Logs `message` at warn level unless its kind is over its rate. */
  warn(kind: string, message: string): void {
    this.#emit("warn", kind, message);
  }

  /** Logs `message` at error level unless its kind is over its rate. */
  error(kind: string, message: string): void {
    this.#emit("error", kind, message);
  }

  /** Logs `message` at info level unless its kind is over its rate. */
  info(kind: string, message: string): void {
    this.#emit("info", kind, message);
  }

  /** Messages of `kind` counted but not logged since its last logged one. */
  suppressedCount(kind: string): number {
    return this.#windows.get(kind)?.suppressed ?? 0;
  }

  /** Logs one line per kind with messages suppressed and not yet reported, and forgets them. */
  flush(): void {
    for (const [kind, w] of this.#windows) {
      if (w.suppressed > 0) {
        this.#log(w.level, `${plural(w.suppressed)} of kind "${kind}" suppressed.`);
      }
    }
    this.#windows.clear();
  }

  #emit(level: LogLevel, kind: string, message: string): void {
    const nowMs = this.#nowMs();
    let w = this.#windows.get(kind);
    if (w === undefined) {
      w = { startMs: nowMs, logged: 0, suppressed: 0, level };
      this.#windows.set(kind, w);
    } else if (nowMs - w.startMs >= this.#intervalMs || nowMs < w.startMs) {
      w.startMs = nowMs;
      w.logged = 0;
    }
    if (w.logged >= this.#messagesPerIntervalMax) {
      w.suppressed++;
      w.level = level;
      return;
    }
    w.logged++;
    const suffix = w.suppressed > 0 ? ` (${plural(w.suppressed)} suppressed)` : "";
    w.suppressed = 0;
    this.#log(level, message + suffix);
  }

  #log(level: LogLevel, line: string): void {
    if (level === "error") this.#logger.error(line);
    else if (level === "warn") this.#logger.warn(line);
    else if (level === "info") this.#logger.info(line);
    else this.#logger.debug(line);
  }
}

function plural(n: number): string {
  return n === 1 ? "1 similar message" : `${n} similar messages`;
}
