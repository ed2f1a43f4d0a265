export {
  isLockAcquisitionError,
  isLockError,
  isLockLostError,
  isLockOptionsError,
  isLockUnavailableError,
  LockAcquisitionError,
  LockError,
  type LockErrorCode,
  LockLostError,
  LockOptionsError,
  LockUnavailableError,
} from './errors.js';
export type { Lock } from './lock.js';
export {
  type AcquireOptions,
  createLockManager,
  type LockManager,
  type LockManagerOptions,
  type LockRetryOptions,
  type TryAcquireOptions,
  type WithLockOptions,
} from './lock-manager.js';
