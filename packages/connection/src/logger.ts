/** Structured fields of a log line. `reason` is stable (`'primary_unavailable'`, `'misconfigured'`...). */
export type LogFields = Record<string, unknown>;

/** Log levels the x packages use. */
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

/**
 * What every `logger` option of the x packages accepts: a pino-compatible logger, `console` (or
 * anything with `info`, `warn`, `error`), a function `(msg, fields) => void`, or `false` for
 * silence.
 */
export type Logger = LogFunction | LevelLogger | false;

/** A logger normalised to one call shape, as returned by {@link toLog}. */
export type Log = (level: LogLevel, msg: string, fields: LogFields) => void;

/** True for a value the `logger` option accepts (see {@link Logger}). */
export function isLogger(value: unknown): value is Logger {
  if (value === false || typeof value === 'function') return true;
  if (typeof value !== 'object' || value === null) return false;
  const l = value as Record<string, unknown>;
  return (
    typeof l.info === 'function' && typeof l.warn === 'function' && typeof l.error === 'function'
  );
}

/**
 * Normalises a {@link Logger} (default `console`) to one call shape. A logger that throws never
 * breaks the caller: the line is dropped.
 * @example
 * const log = toLog(options.logger);
 * log('warn', '[@x/lock] Redis unavailable', { reason: 'primary_unavailable' });
 */
export function toLog(logger: Logger | undefined): Log {
  if (logger === false) return noop;
  const target = logger ?? console;
  if (typeof target === 'function') {
    return (level, msg, fields) => safe(() => target(msg, { level, ...fields }));
  }
  const pinoLike =
    typeof (target as { child?: unknown }).child === 'function' &&
    typeof (target as { levels?: unknown }).levels === 'object';
  if (pinoLike) return (level, msg, fields) => safe(() => target[level](fields, msg));
  return (level, msg, fields) => safe(() => target[level](msg, fields));
}

function safe(write: () => void): void {
  try {
    write();
  } catch {
    // A broken logger must not turn a state change into an error.
  }
}

function noop(): void {}
