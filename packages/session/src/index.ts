export {
  SESSION_CHANNELS,
  type SessionFailClosedMessage,
} from './channels.js';
export {
  InvalidSessionIdError,
  isSessionError,
  SessionDataError,
  type SessionError,
  type SessionErrorCode,
  SessionOptionsError,
  SessionUnavailableError,
} from './errors.js';
export {
  SESSION_DEFAULTS,
  type SessionFallback,
  type SessionStoreOptions,
} from './options.js';
export type { Session, SessionData } from './records.js';
export {
  createSessionStore,
  type DestroyUserSessionsOptions,
  type SessionStore,
} from './session-store.js';
export type { SessionStoreStats } from './stats.js';
