export type {
  CheckAdvice,
  CheckFailureCode,
  CheckReport,
  RunCheckOptions,
  RunCheckResult,
} from './check.js';
export { formatReport, runCheck } from './check.js';
export type { HealthErrorCode } from './errors.js';
export {
  HealthError,
  HealthOptionsError,
  HealthReplyError,
  HealthTimeoutError,
  isHealthError,
} from './errors.js';
export type {
  HealthChangeEvent,
  HealthChecker,
  HealthCheckerOptions,
  HealthCheckResult,
  HealthStats,
  HealthStatus,
  PingableClient,
} from './health-checker.js';
export { createHealthChecker } from './health-checker.js';
export type {
  InfoClient,
  InfoFields,
  InfoSection,
  InfoSections,
  InfoValue,
  ReplicaInfo,
  ReplicationStats,
  ServerMode,
  ServerRole,
  ServerStats,
} from './info.js';
export { DEFAULT_INFO_SECTION, parseInfo, serverStats, toServerStats } from './info.js';
export type {
  ReadinessBody,
  ReadinessOptions,
  ReadinessProblem,
  ReadinessResult,
} from './readiness.js';
export { createReadinessHandler, readiness } from './readiness.js';
