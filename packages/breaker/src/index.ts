export {
  type Breaker,
  type BreakerEvents,
  type BreakerOptions,
  type BreakerStats,
  type CircuitState,
  createBreaker,
  type ExecuteOptions,
  type FailureRateOptions,
  type IsolationHandle,
  type LatencySummary,
  type OpenEvent,
  type StateChange,
} from './breaker.js';
export { classifyRedisError, isInfrastructureError, type RedisErrorKind } from './classify.js';
export {
  type DiagnoseContext,
  diagnoseRedisError,
  isUninformativeRedisError,
  MISCONFIGURATIONS,
  type ProblemKind,
  type RedisDiagnosis,
} from './diagnose.js';
export {
  BreakerError,
  type BreakerErrorCode,
  BreakerOpenError,
  BreakerOptionsError,
  GuardTimeoutError,
  isBreakerError,
  isBreakerOpenError,
  isGuardTimeoutError,
} from './errors.js';
export {
  createGuard,
  type Guard,
  type GuardExecuteOptions,
  type GuardOperation,
  type GuardOptions,
  type GuardSendOperation,
  type GuardSettleable,
  type GuardStats,
} from './guard.js';
