export type {
  Backoff,
  BackoffOptions,
  Jitter,
  ResolvedBackoffOptions,
} from './backoff.js';
export { computeDelay, createBackoff, resolveBackoffOptions } from './backoff.js';
export type { ReconnectErrorCode } from './errors.js';
export {
  isReconnectError,
  ReconnectError,
  ReconnectOptionsError,
  RetryExhaustedError,
} from './errors.js';
export type {
  ConnectionState,
  ReconnectableClient,
  ReconnectionEvents,
  ReconnectionManager,
  ReconnectionManagerOptions,
  ReconnectionStats,
} from './reconnection-manager.js';
export { createReconnectionManager } from './reconnection-manager.js';
export type { RetryOptions } from './retry.js';
export { retry } from './retry.js';
export type { RetryStrategy } from './retry-strategy.js';
export { toRetryStrategy } from './retry-strategy.js';
