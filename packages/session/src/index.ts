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
  createSessionStore,
  type DestroyUserSessionsOptions,
  type Session,
  type SessionData,
  type SessionStore,
  type SessionStoreOptions,
  type SessionStoreStats,
} from './session-store.js';
