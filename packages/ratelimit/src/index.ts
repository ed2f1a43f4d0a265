export { RATELIMIT_CHANNELS, type RateLimitSourceMessage } from './channels.js';
export {
  isRateLimitClosedError,
  isRateLimitError,
  isRateLimitOptionsError,
  isRateLimitUnavailableError,
  RateLimitClosedError,
  type RateLimitError,
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
  MAX_REQUESTS_PER_MS,
  RATELIMIT_DEFAULTS,
  type RateLimiterOptions,
  type RateLimitSourceChange,
} from './options.js';
export { createRateLimiter, type RateLimiter } from './rate-limiter.js';
export type { DecisionOutcomes, RateLimiterStats } from './stats.js';
export type {
  RateLimitAlgorithm,
  RateLimitFallback,
  RateLimitResult,
  RateLimitSource,
} from './types.js';
