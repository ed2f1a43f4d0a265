/** Structured fields of a log line. `reason` is stable (`'primary_unavailable'`, `'primary_healthy'`...). */
export type LogFields = Record<string, unknown>;

/** Log levels the client uses. */
export type LogLevel = 'info' | 'warn' | 'error';

/** A plain function logger: receives the message and the fields (with `level` added). */
export type LogFunction = (msg: string, fields: LogFields) => void;

/**
 * A leveled logger object: pino (called as `logger.warn(fields, msg)`) or console-like
 * (called as `logger.warn(msg, fields)`). pino is recognised by its `levels` and `child`.
 */
export interface LevelLogger {
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

/** What the `logger` option accepts: a function, pino, console, or `false` for silence. */
export type HybridLogger = LogFunction | LevelLogger | false;

/** @internal a logger normalised to one call shape */
export type Log = (level: LogLevel, msg: string, fields: LogFields) => void;

/** @internal */
export function adaptLogger(logger: HybridLogger | undefined): Log {
  if (logger === false) return () => {};
  const target = logger ?? console;
  if (typeof target === 'function') {
    return (level, msg, fields) => target(msg, { level, ...fields });
  }
  const pinoLike =
    typeof (target as { child?: unknown }).child === 'function' &&
    typeof (target as { levels?: unknown }).levels === 'object';
  if (pinoLike) return (level, msg, fields) => target[level](fields, msg);
  return (level, msg, fields) => target[level](msg, fields);
}
