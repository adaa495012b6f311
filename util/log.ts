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
