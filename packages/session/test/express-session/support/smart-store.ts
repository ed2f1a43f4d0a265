// Ported from express-session 1.19.0 test/support/smart-store.js (MIT License, see
// ../session.test.ts). A store of the original suite that tests express-session itself, not the
// store: kept as it is (including `get` never calling back for an unknown sid).
import session from 'express-session';

const defer = setImmediate;

export class SmartStore extends session.Store {
  sessions: Record<string, string> = Object.create(null);

  destroy(sid: string, callback: (err?: unknown) => void): void {
    delete this.sessions[sid];
    defer(callback, null);
  }

  get(sid: string, callback: (err: unknown, session?: any) => void): void {
    let sess: any = this.sessions[sid];

    if (!sess) {
      return;
    }

    // parse
    sess = JSON.parse(sess);

    if (sess.cookie) {
      // expand expires into Date object
      sess.cookie.expires =
        typeof sess.cookie.expires === 'string'
          ? new Date(sess.cookie.expires)
          : sess.cookie.expires;

      // destroy expired session
      if (sess.cookie.expires && sess.cookie.expires <= Date.now()) {
        delete this.sessions[sid];
        sess = null;
      }
    }

    defer(callback, null, sess);
  }

  set(sid: string, sess: unknown, callback: (err?: unknown) => void): void {
    this.sessions[sid] = JSON.stringify(sess);
    defer(callback, null);
  }
}
