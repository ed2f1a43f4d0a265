// The sibling packages this one builds on, in one place.

export type { Breaker, BreakerOptions, Guard } from '@x/breaker';
export { createGuard } from '@x/breaker';
export type { RedisClient, RedisSource } from '@x/config';
export { isCluster, isNoScriptError, resolveRedis, whenReady } from '@x/config';
