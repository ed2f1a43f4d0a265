export { whenReady } from '@x/config';
export {
  announceInstance,
  CONNECTION_CHANNELS,
  type ConnectionCallContext,
  type ConnectionProblemMessage,
  type ConnectionState,
  type ConnectionStateMessage,
  connectionCallChannel,
  type EventChannel,
  eventChannel,
  INSTANCES_CHANNEL,
  type InstanceMessage,
  openInstances,
  operationChannel,
} from './channels.js';
export { closeClient } from './close.js';
export {
  type Connection,
  type ConnectionEvents,
  createConnection,
  type DuplicateOptions,
  type ExecuteOptions,
  type ReadyOptions,
  type RedisStats,
  type UnusableEvent,
  type UsableEvent,
} from './connection.js';
export {
  type DiagnoseContext,
  describeProblem,
  diagnose,
  type Finding,
  MISCONFIGURATIONS,
  type Problem,
  type ProblemKind,
} from './diagnosis.js';
export {
  ConnectionClosedError,
  type ConnectionErrorCode,
  ConnectionOptionsError,
  describeValue,
  isXError,
  RedisFailoverError,
  RedisMisconfiguredError,
  RedisUnavailableError,
  XError,
  type XErrorOptions,
  XOptionsError,
  XUnavailableError,
} from './errors.js';
export {
  classicSubscriber,
  corkUntilNextTick,
  dropConnection,
  resetSockets,
  type SubscriberConnection,
  shardSubscribers,
} from './ioredis-adapter.js';
export {
  isLogger,
  type LevelLogger,
  type Log,
  type LogFields,
  type LogFunction,
  type Logger,
  type LogLevel,
  toLog,
} from './logger.js';
export { CONNECTION_DEFAULTS, type ConnectionOptions } from './options.js';
export { isNoScriptError, type Script, type ScriptArgument, scriptSha } from './script.js';
