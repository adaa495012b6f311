/**
 * A tiny levelled logger writing one line per event to stderr.
 *
 * @module
 */

/** Log levels, least to most severe. */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

const rank: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };

/** A logger bound to a component name. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  child(component: string): Logger;
}

/** Makes a logger that prints messages at `level` or above. */
export function createLogger(level: LogLevel, component = "denka"): Logger {
  const emit = (at: LogLevel, message: string) => {
    if (rank[at] < rank[level]) return;
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
