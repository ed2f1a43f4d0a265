export type { HybridSetOptions, HybridTtlOptions } from './backend.js';
export { bufferCodec, CODECS, type Codec, type CodecName, jsonCodec, textCodec } from './codecs.js';
export {
  type HybridCallErrorCode,
  HybridClientError,
  type HybridClientErrorCode,
  type HybridClientErrorOptions,
  type HybridError,
  HybridOptionsError,
  HybridUnavailableError,
  isHybridClientError,
  isWrongTypeError,
} from './errors.js';
export type { EntrySource, HybridEntry } from './fail-safe.js';
export {
  type ActiveBackend,
  type FailoverCause,
  type FailoverEvent,
  type FailoverMessage,
  HYBRID_CHANNELS,
  type HybridClientEvents,
  type RecoverEvent,
} from './failover-controller.js';
export { FAIL_SAFE_HOLD_MS, type GetOrSetOptions } from './get-or-set.js';
export {
  createHybridClient,
  type HybridClient,
  type HybridClientStats,
} from './hybrid-client.js';
export { createKeys, type KeyHelper } from './keys.js';
export type { HybridNamespace, NamespaceOptions } from './namespace.js';
export type { NearCacheStats } from './near-cache/near-cache.js';
export type { TrackingMessage } from './near-cache/tracking.js';
export {
  HYBRID_DEFAULTS,
  type HybridClientOptions,
  type HybridFallback,
  type NearCacheOptions,
  type RecoveryPolicy,
} from './options.js';
