export type { HybridSetOptions, HybridTtlOptions } from './backend.js';
export {
  HybridClientError,
  type HybridClientErrorCode,
  type HybridClientErrorOptions,
  type HybridError,
  HybridOptionsError,
  HybridUnavailableError,
  isHybridClientError,
  isWrongTypeError,
} from './errors.js';
export {
  type ActiveBackend,
  type FailoverCause,
  type FailoverEvent,
  type FailoverMessage,
  HYBRID_CHANNELS,
  type HybridClientEvents,
  type RecoverEvent,
} from './failover-controller.js';
export {
  createHybridClient,
  type HybridClient,
  type HybridClientStats,
} from './hybrid-client.js';
export { createKeys, type KeyHelper } from './keys.js';
export {
  HYBRID_DEFAULTS,
  type HybridClientOptions,
  type HybridFallback,
  type RecoveryPolicy,
} from './options.js';
