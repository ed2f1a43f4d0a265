export { withAdmin } from './_internal/admin';
export { redisCliBin, redisServerBin } from './_internal/binaries';
export { freePort } from './_internal/ports';
export { stopAll } from './_internal/registry';
export { sleep, waitFor } from './_internal/wait';
export { bundleWorker, startWorker, type WorkerProcess } from './bundle-worker';
export { type ChannelMessages, listenChannels } from './channels';
export { type Closable, type CloseList, closeAfter } from './close-after';
export { type ClusterHandle, type ClusterOptions, startCluster } from './cluster';
export {
  type FailingRedis,
  type RedisFailure,
  resumeFrozen,
  startFailingRedis,
} from './failing-redis';
export {
  type FaultMode,
  type FaultProxy,
  type FaultProxyOptions,
  startFaultProxy,
} from './fault-proxy';
export {
  type ExampleResult,
  exampleProgram,
  type ListeningExample,
  type ReadmeExample,
  type RunningExample,
  readmeExample,
  readmeSection,
  typecheckPrograms,
  typecheckSections,
} from './readme';
export { type ReadmeBlock, readmeBlocks, typecheckBlocks } from './readme-blocks';
export { startRedis } from './redis-server';
export { type ReplicaSetHandle, type ReplicaSetOptions, startReplicaSet } from './replica-set';
export { readyClient, testClient } from './test-client';
export { rejection, timed } from './timed';
export { createTlsFiles } from './tls';
export type { RedisHandle, StartRedisOptions, TlsFiles } from './types';
export { type StartVerdaccioOptions, startVerdaccio, type VerdaccioHandle } from './verdaccio';
