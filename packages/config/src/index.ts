export { redactUrl } from './_internal/redact.js';
export type {
  ClusterClientOptions,
  RedisClient,
  RedisClientOverrides,
  RedisSource,
  ResolveRedisOptions,
} from './client.js';
export {
  createRedisClient,
  isCluster,
  isRedisClient,
  resolveRedis,
  toClusterOptions,
  toConfig,
  toIORedisOptions,
} from './client.js';
export type {
  BooleanInput,
  ConfigValidation,
  DurationInput,
  EndpointsInput,
  RedisConfig,
  RedisConfigInput,
  RedisEndpoint,
  RedisMode,
  RedisReconnectConfig,
  RedisTlsConfig,
  RedisTlsInput,
} from './config.js';
export { CONFIG_DEFAULTS } from './config.js';
export type {
  Credentials,
  CredentialsConnectorClass,
  CredentialsConnectorOptions,
  CredentialsContext,
  CredentialsProvider,
} from './credentials.js';
export { credentialsConnector } from './credentials.js';
export type {
  CredentialsRefresh,
  CredentialsRefreshFailure,
  CredentialsTracker,
  CredentialsTrackerOptions,
  CredentialsTrackerStats,
} from './credentials-tracker.js';
export { trackCredentials } from './credentials-tracker.js';
export { parseDuration } from './duration.js';
export type { ConfigIssue, CredentialsErrorCode } from './errors.js';
export {
  ConfigError,
  CredentialsError,
  isConfigError,
  isCredentialsError,
  isRedisNotConnectedError,
  RedisNotConnectedError,
} from './errors.js';
export type { LoadConfigOptions } from './load-config.js';
export { ENV_VARS, loadConfig } from './load-config.js';
export { type RedactedRedisConfig, redactConfig } from './redact-config.js';
export type { ParsedRedisUrl } from './redis-url.js';
export { parseRedisUrl } from './redis-url.js';
export type {
  ClientPool,
  ClientPoolOptions,
  ReplicaRouter,
  ReplicaRouterOptions,
  ReplicaRouterStats,
} from './replicas.js';
export { createClientPool, createReplicaRouter, defaultShouldFallback } from './replicas.js';
export { isValidatedConfig, validateConfig } from './validate-config.js';
export type { WaitForReadyOptions } from './wait-for-ready.js';
export { waitForReady } from './wait-for-ready.js';
export { isNoScriptError, whenReady } from './when-ready.js';
