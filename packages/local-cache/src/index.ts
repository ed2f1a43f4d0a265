export type { LocalCacheErrorCode, LocalCacheErrorOptions } from './errors.js';
export { isLocalCacheError, LocalCacheError } from './errors.js';
export type {
  LocalCache,
  LocalCacheOptions,
  LocalCacheStats,
  LocalEntry,
  SetHashOptions,
  SetOptions,
  TtlOptions,
  ValueType,
} from './local-cache.js';
export { createLocalCache } from './local-cache.js';
