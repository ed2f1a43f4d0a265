// Ported from express-session 1.19.0 test/support/sync-store.js (MIT License, see
// ../session.test.ts). A store of the original suite that tests express-session itself with a
// store calling back synchronously: kept as it is.
import session from 'express-session';

export class SyncStore extends session.Store {
  sessions: Record<string, string> = Object.create(null);

  destroy(sid: string, callback: (err?: unknown) => void): void {
    delete this.sessions[sid];
    callback();
  }

  get(sid: string, callback: (err: unknown, session?: any) => void): void {
    callback(null, JSON.parse(this.sessions[sid] as string));
  }

  set(sid: string, sess: unknown, callback: (err?: unknown) => void): void {
    this.sessions[sid] = JSON.stringify(sess);
    callback();
  }
}
