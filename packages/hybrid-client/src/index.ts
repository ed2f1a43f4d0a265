export type { HybridClientErrorCode } from './errors.js';
export { HybridClientError, isHybridClientError, isWrongTypeError } from './errors.js';
export type {
  ActiveBackend,
  FailoverEvent,
  HybridClient,
  HybridClientEvents,
  HybridClientOptions,
  HybridClientStats,
  HybridSetOptions,
  HybridTtlOptions,
  RecoverEvent,
  RecoveryPolicy,
} from './hybrid-client.js';
export { createHybridClient } from './hybrid-client.js';
export type { KeyHelper } from './keys.js';
export { createKeys } from './keys.js';
export type { HybridLogger, LevelLogger, LogFields, LogFunction, LogLevel } from './logger.js';
