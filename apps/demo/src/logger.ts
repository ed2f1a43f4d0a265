/**
 * The logging surface the demo's parts use: a subset of pino's (Fastify's logger), so the
 * app's own logger is passed everywhere and every line ends up in one stream.
 */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
