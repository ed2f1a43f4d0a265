export {
  isRateLimitError,
  isRateLimitOptionsError,
  isRateLimitUnavailableError,
  RateLimitError,
  type RateLimitErrorCode,
  RateLimitOptionsError,
  RateLimitUnavailableError,
} from './errors.js';
export {
  type HeaderTarget,
  type RateLimitHeaderFields,
  type RateLimitHeaderOptions,
  type RateLimitHeaders,
  rateLimitHeaders,
  setRateLimitHeaders,
} from './http-headers.js';
export {
  createRateLimiter,
  type RateLimiter,
  type RateLimiterOptions,
  type RateLimitSourceChange,
} from './rate-limiter.js';
export type {
  RateLimitAlgorithm,
  RateLimitFallback,
  RateLimitResult,
  RateLimitSource,
} from './types.js';
