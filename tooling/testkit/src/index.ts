export { withAdmin } from './_internal/admin';
export { redisCliBin, redisServerBin } from './_internal/binaries';
export { stopAll } from './_internal/registry';
export { sleep, waitFor } from './_internal/wait';
export { bundleWorker } from './bundle-worker';
export { type ClusterHandle, type ClusterOptions, startCluster } from './cluster';
export {
  type FaultMode,
  type FaultProxy,
  type FaultProxyOptions,
  startFaultProxy,
} from './fault-proxy';
export { type ExampleResult, type ReadmeExample, readmeExample } from './readme';
export { startRedis } from './redis-server';
export { type ReplicaSetHandle, type ReplicaSetOptions, startReplicaSet } from './replica-set';
export { createTlsFiles } from './tls';
export type { RedisHandle, StartRedisOptions, TlsFiles } from './types';
export { type StartVerdaccioOptions, startVerdaccio, type VerdaccioHandle } from './verdaccio';
