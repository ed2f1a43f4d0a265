export {
  LOCK_CHANNELS,
  type LockAcquireMessage,
  type LockAcquireOutcome,
  type LockLostMessage,
  type LockLostReason,
} from './channels.js';
export {
  isLockAcquisitionError,
  isLockError,
  isLockLostError,
  isLockOptionsError,
  isLockUnavailableError,
  LockAcquisitionError,
  type LockError,
  type LockErrorCode,
  LockLostError,
  LockOptionsError,
  LockUnavailableError,
} from './errors.js';
export type { Lock } from './lock.js';
export { createLockManager, type LockManager } from './lock-manager.js';
export {
  type AcquireOptions,
  LOCK_DEFAULTS,
  type LockManagerOptions,
  type LockRetryOptions,
  type RedisSource,
  type TryAcquireOptions,
  type WithLockOptions,
} from './options.js';
export type { LockStats } from './stats.js';
