/*
 * express-session's own test suite, run against @x/session's express-session store.
 *
 * Ported from express-session 1.19.0, file test/session.js (with test/support/*.js), of the
 * repository expressjs/session at tag v1.19.0. express-session is MIT licensed:
 *
 *   Copyright (c) 2010 Sencha Inc.
 *   Copyright (c) 2011 TJ Holowaychuk <tj@vision-media.ca>
 *   Copyright (c) 2014-2015 Douglas Christopher Wilson <doug@somethingdoug.com>
 *
 *   Permission is hereby granted, free of charge, to any person obtaining a copy of this software
 *   and associated documentation files (the 'Software'), to deal in the Software without
 *   restriction, including without limitation the rights to use, copy, modify, merge, publish,
 *   distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
 *   Software is furnished to do so, subject to the following conditions: The above copyright
 *   notice and this permission notice shall be included in all copies or substantial portions of
 *   the Software. THE SOFTWARE IS PROVIDED 'AS IS', WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 *   IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A
 *   PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE
 *   LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
 *   OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER
 *   DEALINGS IN THE SOFTWARE.
 *
 * What the port changes, and nothing else:
 * - mocha -> vitest: the same describe/it structure, titles and order (142 tests), every
 *   assertion kept (node:assert, supertest's expectations); a test's `done` is given by `cb()`,
 *   mocha's `before` is `beforeAll`, `this.server` a variable of the describe.
 * - Every MemoryStore of the suite, the explicit `new session.MemoryStore()` and the one
 *   express-session creates when no store is given (`createSession()` below), is a new
 *   `createExpressSessionStore()` on one redis-server of the test kit for the whole file, with a
 *   fresh key prefix per store, so tests stay independent.
 * - Kept as they are: the tests of express-session's exports, and the stores of the suite that
 *   test express-session itself (SmartStore, SyncStore).
 * - The TLS certificate of `.secure` is generated with openssl as test/support/gencert.sh does;
 *   `after` (a dev dependency of the original) is a small helper in support/utils.ts; express 5
 *   instead of 4 for the cookieParser() tests.
 */
import './support/env.js';
import assert from 'node:assert';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import type { EventEmitter } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { startRedis } from '@x/testkit';
import cookieParser from 'cookie-parser';
import express from 'express';
import session from 'express-session';
import { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createExpressSessionStore } from '../../src/express-store.js';
import { createSessionStore } from '../../src/session-store.js';
import { SmartStore } from './support/smart-store.js';
import { SyncStore } from './support/sync-store.js';
import * as utils from './support/utils.js';

const Cookie = createRequire(import.meta.url)('express-session/session/cookie');

const min = 60 * 1000;

// ---- the store under test ------------------------------------------------------------------------

let redis: Redis;
let stores = 0;

beforeAll(async () => {
  const server = await startRedis();
  redis = new Redis(server.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
});

afterAll(() => {
  redis?.disconnect();
});

/** The store API as the suite uses it: callbacks, and methods it replaces or wraps. */
interface SuiteStore extends EventEmitter {
  get: (sid: string, callback: (err: any, session?: any) => void) => void;
  set: (sid: string, session: any, callback: (err?: any) => void) => void;
  touch: (...args: any[]) => void;
  destroy: (sid: string, callback: (err?: any) => void) => void;
  all: (callback: (err: any, sessions?: any) => void) => void;
  length: (callback: (err: any, length?: number) => void) => void;
  clear: (callback: (err?: any) => void) => void;
  load: (sid: string, callback: (err: any, session?: any) => void) => void;
}

/** What replaces `new session.MemoryStore()`: a Redis store with a key prefix of its own. */
function createRedisStore(): SuiteStore {
  const sessions = createSessionStore({ redis, keyPrefix: `es${++stores}:` });
  return createExpressSessionStore({ store: sessions }) as unknown as SuiteStore;
}

type Done = (err?: any, ...rest: any[]) => void;

/** A mocha test body with `done`, as a vitest test (settles when `done` is called). */
function cb(test: (done: Done) => void): () => Promise<void> {
  return () =>
    new Promise<void>((resolve, reject) => {
      test((err?: any) => (err ? reject(err) : resolve()));
    });
}

describe('session()', () => {
  it('should export constructors', () => {
    assert.strictEqual(typeof session.Session, 'function');
    assert.strictEqual(typeof session.Store, 'function');
    assert.strictEqual(typeof session.MemoryStore, 'function');
  });

  it(
    'should do nothing if req.session exists',
    cb((done) => {
      function setup(req: any) {
        req.session = {};
      }

      request(createServer(setup))
        .get('/')
        .expect(shouldNotHaveHeader('Set-Cookie'))
        .expect(200, done);
    }),
  );

  it(
    'should error without secret',
    cb((done) => {
      request(createServer({ secret: undefined }))
        .get('/')
        .expect(500, /secret.*required/, done);
    }),
  );

  it(
    'should get secret from req.secret',
    cb((done) => {
      function setup(req: any) {
        req.secret = 'keyboard cat';
      }

      request(createServer(setup, { secret: undefined }))
        .get('/')
        .expect(200, '', done);
    }),
  );

  it(
    'should create a new session',
    cb((done) => {
      const store = createRedisStore();
      const server = createServer({ store: store }, (req: any, res: any) => {
        req.session.active = true;
        res.end('session active');
      });

      request(server)
        .get('/')
        .expect(shouldSetCookie('connect.sid'))
        .expect(200, 'session active', (err, _res) => {
          if (err) return done(err);
          store.length((err, len) => {
            if (err) return done(err);
            assert.strictEqual(len, 1);
            done();
          });
        });
    }),
  );

  it(
    'should load session from cookie sid',
    cb((done) => {
      let count = 0;
      const server = createServer(null, (req: any, res: any) => {
        req.session.num = req.session.num || ++count;
        res.end('session ' + req.session.num);
      });

      request(server)
        .get('/')
        .expect(shouldSetCookie('connect.sid'))
        .expect(200, 'session 1', (err, res) => {
          if (err) return done(err);
          request(server).get('/').set('Cookie', cookie(res)).expect(200, 'session 1', done);
        });
    }),
  );

  it(
    'should pass session fetch error',
    cb((done) => {
      const store = createRedisStore();
      const server = createServer({ store: store }, (_req: any, res: any) => {
        res.end('hello, world');
      });

      store.get = function destroy(_sid: string, callback: Done) {
        callback(new Error('boom!'));
      };

      request(server)
        .get('/')
        .expect(shouldSetCookie('connect.sid'))
        .expect(200, 'hello, world', (err, res) => {
          if (err) return done(err);
          request(server).get('/').set('Cookie', cookie(res)).expect(500, 'boom!', done);
        });
    }),
  );

  it(
    'should treat ENOENT session fetch error as not found',
    cb((done) => {
      let count = 0;
      const store = createRedisStore();
      const server = createServer({ store: store }, (req: any, res: any) => {
        req.session.num = req.session.num || ++count;
        res.end('session ' + req.session.num);
      });

      store.get = function destroy(_sid: string, callback: Done) {
        const err: any = new Error('boom!');
        err.code = 'ENOENT';
        callback(err);
      };

      request(server)
        .get('/')
        .expect(shouldSetCookie('connect.sid'))
        .expect(200, 'session 1', (err, res) => {
          if (err) return done(err);
          request(server).get('/').set('Cookie', cookie(res)).expect(200, 'session 2', done);
        });
    }),
  );

  it(
    'should create multiple sessions',
    cb((done) => {
      const cb2 = utils.after(2, check);
      let count = 0;
      const store = createRedisStore();
      const server = createServer({ store: store }, (req: any, res: any) => {
        const isnew = req.session.num === undefined;
        req.session.num = req.session.num || ++count;
        res.end('session ' + (isnew ? 'created' : 'updated'));
      });

      function check(err?: any) {
        if (err) return done(err);
        store.all((err, sess) => {
          if (err) return done(err);
          assert.strictEqual(Object.keys(sess as object).length, 2);
          done();
        });
      }

      request(server).get('/').expect(200, 'session created', cb2);

      request(server).get('/').expect(200, 'session created', cb2);
    }),
  );

  it(
    'should handle empty req.url',
    cb((done) => {
      function setup(req: any) {
        req.url = '';
      }

      request(createServer(setup))
        .get('/')
        .expect(shouldSetCookie('connect.sid'))
        .expect(200, done);
    }),
  );

  it(
    'should handle multiple res.end calls',
    cb((done) => {
      const server = createServer(null, (_req: any, res: any) => {
        res.setHeader('Content-Type', 'text/plain');
        res.end('Hello, world!');
        res.end();
      });

      request(server)
        .get('/')
        .expect('Content-Type', 'text/plain')
        .expect(200, 'Hello, world!', done);
    }),
  );

  it(
    'should handle res.end(null) calls',
    cb((done) => {
      const server = createServer(null, (_req: any, res: any) => {
        res.end(null);
      });

      request(server).get('/').expect(200, '', done);
    }),
  );

  it(
    'should handle reserved properties in storage',
    cb((done) => {
      let count = 0;
      let sid: string;
      const store = createRedisStore();
      const server = createServer({ store: store }, (req: any, res: any) => {
        sid = req.session.id;
        req.session.num = req.session.num || ++count;
        res.end('session saved');
      });

      request(server)
        .get('/')
        .expect(200, 'session saved', (err, res) => {
          if (err) return done(err);
          store.get(sid, (err, sess: any) => {
            if (err) return done(err);
            // save is reserved
            sess.save = 'nope';
            store.set(sid, sess, (err) => {
              if (err) return done(err);
              request(server)
                .get('/')
                .set('Cookie', cookie(res))
                .expect(200, 'session saved', done);
            });
          });
        });
    }),
  );

  it(
    'should only have session data enumerable (and cookie)',
    cb((done) => {
      const server = createServer(null, (req: any, res: any) => {
        req.session.test1 = 1;
        req.session.test2 = 'b';
        res.end(Object.keys(req.session).sort().join(','));
      });

      request(server).get('/').expect(200, 'cookie,test1,test2', done);
    }),
  );

  it(
    'should not save with bogus req.sessionID',
    cb((done) => {
      const store = createRedisStore();
      const server = createServer({ store: store }, (req: any, res: any) => {
        req.sessionID = () => {};
        req.session.test1 = 1;
        req.session.test2 = 'b';
        res.end();
      });

      request(server)
        .get('/')
        .expect(shouldNotHaveHeader('Set-Cookie'))
        .expect(200, (err) => {
          if (err) return done(err);
          store.length((err, length) => {
            if (err) return done(err);
            assert.strictEqual(length, 0);
            done();
          });
        });
    }),
  );

  it(
    'should update cookie expiration when slow write',
    cb((done) => {
      const server = createServer({ rolling: true }, (req: any, res: any) => {
        req.session.user = 'bob';
        res.write('hello, ');
        setTimeout(() => {
          res.end('world!');
        }, 200);
      });

      request(server)
        .get('/')
        .expect(shouldSetCookie('connect.sid'))
        .expect(200, (err, res) => {
          if (err) return done(err);
          const originalExpires = expires(res);
          setTimeout(
            () => {
              request(server)
                .get('/')
                .set('Cookie', cookie(res))
                .expect(shouldSetCookie('connect.sid'))
                .expect((res) => {
                  assert.notStrictEqual(originalExpires, expires(res));
                })
                .expect(200, done);
            },
            1000 - (Date.now() % 1000) + 200,
          );
        });
    }),
  );

  describe('when response ended', () => {
    it(
      'should have saved session',
      cb((done) => {
        const store = createRedisStore();
        const server = createServer({ store: store }, (req: any, res: any) => {
          req.session.hit = true;
          res.end('session saved');
        });

        request(server)
          .get('/')
          .expect(200)
          .expect(shouldSetSessionInStore(store, 200))
          .expect('session saved')
          .end(done);
      }),
    );

    it(
      'should have saved session even with empty response',
      cb((done) => {
        const store = createRedisStore();
        const server = createServer({ store: store }, (req: any, res: any) => {
          req.session.hit = true;
          res.setHeader('Content-Length', '0');
          res.end();
        });

        request(server).get('/').expect(200).expect(shouldSetSessionInStore(store, 200)).end(done);
      }),
    );

    it(
      'should have saved session even with multi-write',
      cb((done) => {
        const store = createRedisStore();
        const server = createServer({ store: store }, (req: any, res: any) => {
          req.session.hit = true;
          res.setHeader('Content-Length', '12');
          res.write('hello, ');
          res.end('world');
        });

        request(server)
          .get('/')
          .expect(200)
          .expect(shouldSetSessionInStore(store, 200))
          .expect('hello, world')
          .end(done);
      }),
    );

    it(
      'should have saved session even with non-chunked response',
      cb((done) => {
        const store = createRedisStore();
        const server = createServer({ store: store }, (req: any, res: any) => {
          req.session.hit = true;
          res.setHeader('Content-Length', '13');
          res.end('session saved');
        });

        request(server)
          .get('/')
          .expect(200)
          .expect(shouldSetSessionInStore(store, 200))
          .expect('session saved')
          .end(done);
      }),
    );

    it(
      'should have saved session with updated cookie expiration',
      cb((done) => {
        const store = createRedisStore();
        const server = createServer(
          { cookie: { maxAge: min }, store: store },
          (req: any, res: any) => {
            req.session.user = 'bob';
            res.end(req.session.id);
          },
        );

        request(server)
          .get('/')
          .expect(shouldSetCookie('connect.sid'))
          .expect(200, (err, res) => {
            if (err) return done(err);
            const id = res.text;
            store.get(id, (err, sess: any) => {
              if (err) return done(err);
              assert.ok(sess, 'session saved to store');
              const exp = new Date(sess.cookie.expires);
              assert.strictEqual(exp.toUTCString(), expires(res));
              setTimeout(
                () => {
                  request(server)
                    .get('/')
                    .set('Cookie', cookie(res))
                    .expect(200, (err, res) => {
                      if (err) return done(err);
                      store.get(id, (err, sess: any) => {
                        if (err) return done(err);
                        assert.strictEqual(res.text, id);
                        assert.ok(sess, 'session still in store');
                        assert.notStrictEqual(
                          new Date(sess.cookie.expires).toUTCString(),
                          exp.toUTCString(),
                          'session cookie expiration updated',
                        );
                        done();
                      });
                    });
                },
                1000 - (Date.now() % 1000) + 200,
              );
            });
          });
      }),
    );
  });

  describe('when sid not in store', () => {
    it(
      'should create a new session',
      cb((done) => {
        let count = 0;
        const store = createRedisStore();
        const server = createServer({ store: store }, (req: any, res: any) => {
          req.session.num = req.session.num || ++count;
          res.end('session ' + req.session.num);
        });

        request(server)
          .get('/')
          .expect(shouldSetCookie('connect.sid'))
          .expect(200, 'session 1', (err, res) => {
            if (err) return done(err);
            store.clear((err) => {
              if (err) return done(err);
              request(server).get('/').set('Cookie', cookie(res)).expect(200, 'session 2', done);
            });
          });
      }),
    );

    it(
      'should have a new sid',
      cb((done) => {
        let count = 0;
        const store = createRedisStore();
        const server = createServer({ store: store }, (req: any, res: any) => {
          req.session.num = req.session.num || ++count;
          res.end('session ' + req.session.num);
        });

        request(server)
          .get('/')
          .expect(shouldSetCookie('connect.sid'))
          .expect(200, 'session 1', (err, res) => {
            if (err) return done(err);
            store.clear((err) => {
              if (err) return done(err);
              request(server)
                .get('/')
                .set('Cookie', cookie(res))
                .expect(shouldSetCookie('connect.sid'))
                .expect(shouldSetCookieToDifferentSessionId(sid(res)))
                .expect(200, 'session 2', done);
            });
          });
      }),
    );
  });

  describe('when sid not properly signed', () => {
    it(
      'should generate new session',
      cb((done) => {
        const store = createRedisStore();
        const server = createServer({ store: store, key: 'sessid' }, (req: any, res: any) => {
          const isnew = req.session.active === undefined;
          req.session.active = true;
          res.end('session ' + (isnew ? 'created' : 'read'));
        });

        request(server)
          .get('/')
          .expect(shouldSetCookie('sessid'))
          .expect(200, 'session created', (err, res) => {
            if (err) return done(err);
            const val = sid(res);
            assert.ok(val);
            request(server)
              .get('/')
              .set('Cookie', 'sessid=' + val)
              .expect(shouldSetCookie('sessid'))
              .expect(shouldSetCookieToDifferentSessionId(val))
              .expect(200, 'session created', done);
          });
      }),
    );

    it(
      'should not attempt fetch from store',
      cb((done) => {
        const store = createRedisStore();
        const server = createServer({ store: store, key: 'sessid' }, (req: any, res: any) => {
          const isnew = req.session.active === undefined;
          req.session.active = true;
          res.end('session ' + (isnew ? 'created' : 'read'));
        });

        request(server)
          .get('/')
          .expect(shouldSetCookie('sessid'))
          .expect(200, 'session created', (err, res) => {
            if (err) return done(err);
            const val = cookie(res).replace(/...\./, '.');

            assert.ok(val);
            request(server)
              .get('/')
              .set('Cookie', val)
              .expect(shouldSetCookie('sessid'))
              .expect(200, 'session created', done);
          });
      }),
    );
  });

  describe('when session expired in store', () => {
    it(
      'should create a new session',
      cb((done) => {
        let count = 0;
        const store = createRedisStore();
        const server = createServer(
          { store: store, cookie: { maxAge: 5 } },
          (req: any, res: any) => {
            req.session.num = req.session.num || ++count;
            res.end('session ' + req.session.num);
          },
        );

        request(server)
          .get('/')
          .expect(shouldSetCookie('connect.sid'))
          .expect(200, 'session 1', (err, res) => {
            if (err) return done(err);
            setTimeout(() => {
              request(server)
                .get('/')
                .set('Cookie', cookie(res))
                .expect(shouldSetCookie('connect.sid'))
                .expect(200, 'session 2', done);
            }, 20);
          });
      }),
    );

    it(
      'should have a new sid',
      cb((done) => {
        let count = 0;
        const store = createRedisStore();
        const server = createServer(
          { store: store, cookie: { maxAge: 5 } },
          (req: any, res: any) => {
            req.session.num = req.session.num || ++count;
            res.end('session ' + req.session.num);
          },
        );

        request(server)
          .get('/')
          .expect(shouldSetCookie('connect.sid'))
          .expect(200, 'session 1', (err, res) => {
            if (err) return done(err);
            setTimeout(() => {
              request(server)
                .get('/')
                .set('Cookie', cookie(res))
                .expect(shouldSetCookie('connect.sid'))
                .expect(shouldSetCookieToDifferentSessionId(sid(res)))
                .expect(200, 'session 2', done);
            }, 15);
          });
      }),
    );

    it(
      'should not exist in store',
      cb((done) => {
        let count = 0;
        const store = createRedisStore();
        const server = createServer(
          { store: store, cookie: { maxAge: 5 } },
          (req: any, res: any) => {
            req.session.num = req.session.num || ++count;
            res.end('session ' + req.session.num);
          },
        );

        request(server)
          .get('/')
          .expect(shouldSetCookie('connect.sid'))
          .expect(200, 'session 1', (err, _res) => {
            if (err) return done(err);
            setTimeout(() => {
              store.all((err, sess) => {
                if (err) return done(err);
                assert.strictEqual(Object.keys(sess as object).length, 0);
                done();
              });
            }, 10);
          });
      }),
    );
  });

  describe('when session without cookie property in store', () => {
    it(
      'should pass error from inflate',
      cb((done) => {
        let count = 0;
        const store = createRedisStore();
        const server = createServer({ store: store }, (req: any, res: any) => {
          req.session.num = req.session.num || ++count;
          res.end('session ' + req.session.num);
        });

        request(server)
          .get('/')
          .expect(shouldSetCookie('connect.sid'))
          .expect(200, 'session 1', (err, res) => {
            if (err) return done(err);
            store.set(sid(res) as string, { foo: 'bar' }, (err) => {
              if (err) return done(err);
              request(server)
                .get('/')
                .set('Cookie', cookie(res))
                .expect(500, /Cannot read prop/, done);
            });
          });
      }),
    );
  });

  describe('proxy option', () => {
    describe('when enabled', () => {
      let server: http.Server;
      beforeAll(() => {
        server = createServer({ proxy: true, cookie: { secure: true, maxAge: 5 } });
      });

      it(
        'should trust X-Forwarded-Proto when string',
        cb((done) => {
          request(server)
            .get('/')
            .set('X-Forwarded-Proto', 'https')
            .expect(shouldSetCookie('connect.sid'))
            .expect(200, done);
        }),
      );

      it(
        'should trust X-Forwarded-Proto when comma-separated list',
        cb((done) => {
          request(server)
            .get('/')
            .set('X-Forwarded-Proto', 'https,http')
            .expect(shouldSetCookie('connect.sid'))
            .expect(200, done);
        }),
      );

      it(
        'should work when no header',
        cb((done) => {
          request(server).get('/').expect(shouldNotHaveHeader('Set-Cookie')).expect(200, done);
        }),
      );
    });

    describe('when disabled', () => {
      let server: http.Server;
      beforeAll(() => {
        function setup(req: any) {
          req.secure = req.headers['x-secure'] ? JSON.parse(req.headers['x-secure']) : undefined;
        }

        function respond(req: any, res: any) {
          res.end(String(req.secure));
        }

        server = createServer(setup, { proxy: false, cookie: { secure: true } }, respond);
      });

      it(
        'should not trust X-Forwarded-Proto',
        cb((done) => {
          request(server)
            .get('/')
            .set('X-Forwarded-Proto', 'https')
            .expect(shouldNotHaveHeader('Set-Cookie'))
            .expect(200, done);
        }),
      );

      it(
        'should ignore req.secure',
        cb((done) => {
          request(server)
            .get('/')
            .set('X-Forwarded-Proto', 'https')
            .set('X-Secure', 'true')
            .expect(shouldNotHaveHeader('Set-Cookie'))
            .expect(200, 'true', done);
        }),
      );
    });

    describe('when unspecified', () => {
      let server: http.Server;
      beforeAll(() => {
        function setup(req: any) {
          req.secure = req.headers['x-secure'] ? JSON.parse(req.headers['x-secure']) : undefined;
        }

        function respond(req: any, res: any) {
          res.end(String(req.secure));
        }

        server = createServer(setup, { cookie: { secure: true } }, respond);
      });

      it(
        'should not trust X-Forwarded-Proto',
        cb((done) => {
          request(server)
            .get('/')
            .set('X-Forwarded-Proto', 'https')
            .expect(shouldNotHaveHeader('Set-Cookie'))
            .expect(200, done);
        }),
      );

      it(
        'should use req.secure',
        cb((done) => {
          request(server)
            .get('/')
            .set('X-Forwarded-Proto', 'https')
            .set('X-Secure', 'true')
            .expect(shouldSetCookie('connect.sid'))
            .expect(200, 'true', done);
        }),
      );
    });
  });

  describe('cookie option', () => {
    describe('when "path" set to "/foo/bar"', () => {
      let server: http.Server;
      beforeAll(() => {
        server = createServer({ cookie: { path: '/foo/bar' } });
      });

      it(
        'should not set cookie for "/" request',
        cb((done) => {
          request(server).get('/').expect(shouldNotHaveHeader('Set-Cookie')).expect(200, done);
        }),
      );

      it(
        'should not set cookie for "http://foo/bar" request',
        cb((done) => {
          request(server)
            .get('/')
            .set('host', 'http://foo/bar')
            .expect(shouldNotHaveHeader('Set-Cookie'))
            .expect(200, done);
        }),
      );

      it(
        'should set cookie for "/foo/bar" request',
        cb((done) => {
          request(server)
            .get('/foo/bar/baz')
            .expect(shouldSetCookie('connect.sid'))
            .expect(200, done);
        }),
      );

      it(
        'should set cookie for "/foo/bar/baz" request',
        cb((done) => {
          request(server)
            .get('/foo/bar/baz')
            .expect(shouldSetCookie('connect.sid'))
            .expect(200, done);
        }),
      );

      describe('when mounted at "/foo"', () => {
        let server: http.Server;
        beforeAll(() => {
          server = createServer(mountAt('/foo'), { cookie: { path: '/foo/bar' } });
        });

        it(
          'should set cookie for "/foo/bar" request',
          cb((done) => {
            request(server)
              .get('/foo/bar')
              .expect(shouldSetCookie('connect.sid'))
              .expect(200, done);
          }),
        );

        it(
          'should not set cookie for "/foo/foo/bar" request',
          cb((done) => {
            request(server)
              .get('/foo/foo/bar')
              .expect(shouldNotHaveHeader('Set-Cookie'))
              .expect(200, done);
          }),
        );
      });
    });

    describe('when "secure" set to "auto"', () => {
      describe('when "proxy" is "true"', () => {
        let server: http.Server;
        beforeAll(() => {
          server = createServer({ proxy: true, cookie: { maxAge: 5, secure: 'auto' } });
        });

        it(
          'should set secure when X-Forwarded-Proto is https',
          cb((done) => {
            request(server)
              .get('/')
              .set('X-Forwarded-Proto', 'https')
              .expect(shouldSetCookieWithAttribute('connect.sid', 'Secure'))
              .expect(200, done);
          }),
        );
      });

      describe('when "proxy" is "false"', () => {
        let server: http.Server;
        beforeAll(() => {
          server = createServer({ proxy: false, cookie: { maxAge: 5, secure: 'auto' } });
        });

        it(
          'should not set secure when X-Forwarded-Proto is https',
          cb((done) => {
            request(server)
              .get('/')
              .set('X-Forwarded-Proto', 'https')
              .expect(shouldSetCookieWithoutAttribute('connect.sid', 'Secure'))
              .expect(200, done);
          }),
        );
      });

      describe('when "proxy" is undefined', () => {
        let server: http.Server;
        beforeAll(() => {
          function setup(req: any) {
            req.secure = JSON.parse(req.headers['x-secure']);
          }

          function respond(req: any, res: any) {
            res.end(String(req.secure));
          }

          server = createServer(setup, { cookie: { secure: 'auto' } }, respond);
        });

        it(
          'should set secure if req.secure = true',
          cb((done) => {
            request(server)
              .get('/')
              .set('X-Secure', 'true')
              .expect(shouldSetCookieWithAttribute('connect.sid', 'Secure'))
              .expect(200, 'true', done);
          }),
        );

        it(
          'should not set secure if req.secure = false',
          cb((done) => {
            request(server)
              .get('/')
              .set('X-Secure', 'false')
              .expect(shouldSetCookieWithoutAttribute('connect.sid', 'Secure'))
              .expect(200, 'false', done);
          }),
        );
      });
    });

    describe('when "cookie" is a function', () => {
      it(
        'should call custom function and apply cookie options',
        cb((done) => {
          let cookieCallbackCalled = false;
          const cookieCallback = () => {
            cookieCallbackCalled = true;
            return { path: '/test', httpOnly: true, secure: false };
          };
          const server = createServer({ cookie: cookieCallback });
          request(server)
            .get('/test')
            .expect(shouldSetCookieWithAttributeAndValue('connect.sid', 'Path', '/test'))
            .expect(shouldSetCookieWithAttribute('connect.sid', 'HttpOnly'))
            .expect(shouldSetCookieWithoutAttribute('connect.sid', 'Secure'))
            .expect(200, (err) => {
              if (err) return done(err);
              assert.strictEqual(cookieCallbackCalled, true, 'should have called cookie callback');
              done();
            });
        }),
      );

      it(
        'should provide req argument',
        cb((done) => {
          const _path = '/test';
          let cookieCallbackCalled = false;
          const cookieCallback = (req: any) => {
            cookieCallbackCalled = true;
            return { path: req.url, httpOnly: true, secure: false };
          };
          const server = createServer({ cookie: cookieCallback });
          request(server)
            .get(_path)
            .expect(shouldSetCookieWithAttributeAndValue('connect.sid', 'Path', _path))
            .expect(shouldSetCookieWithAttribute('connect.sid', 'HttpOnly'))
            .expect(shouldSetCookieWithoutAttribute('connect.sid', 'Secure'))
            .expect(200, (err) => {
              if (err) return done(err);
              assert.strictEqual(cookieCallbackCalled, true, 'should have called cookie callback');
              done();
            });
        }),
      );
    });
    describe('when "sameSite" set to "auto"', () => {
      describe('basic functionality', () => {
        let server: http.Server;
        beforeAll(() => {
          function setup(req: any) {
            req.secure = JSON.parse(req.headers['x-secure']);
          }

          function respond(req: any, res: any) {
            res.end(String(req.secure));
          }

          server = createServer(setup, { cookie: { sameSite: 'auto' } }, respond);
        });

        it(
          'should set SameSite=None for secure connections',
          cb((done) => {
            request(server)
              .get('/')
              .set('X-Secure', 'true')
              .expect(shouldSetCookieWithAttributeAndValue('connect.sid', 'SameSite', 'None'))
              .expect(200, 'true', done);
          }),
        );

        it(
          'should set SameSite=Lax for insecure connections',
          cb((done) => {
            request(server)
              .get('/')
              .set('X-Secure', 'false')
              .expect(shouldSetCookieWithAttributeAndValue('connect.sid', 'SameSite', 'Lax'))
              .expect(200, 'false', done);
          }),
        );
      });

      describe('with proxy settings', () => {
        describe('when "proxy" is "true"', () => {
          let server: http.Server;
          beforeAll(() => {
            server = createServer({ proxy: true, cookie: { sameSite: 'auto' } });
          });

          it(
            'should set SameSite=None when X-Forwarded-Proto is https',
            cb((done) => {
              request(server)
                .get('/')
                .set('X-Forwarded-Proto', 'https')
                .expect(shouldSetCookieWithAttributeAndValue('connect.sid', 'SameSite', 'None'))
                .expect(200, done);
            }),
          );

          it(
            'should set SameSite=Lax when X-Forwarded-Proto is http',
            cb((done) => {
              request(server)
                .get('/')
                .set('X-Forwarded-Proto', 'http')
                .expect(shouldSetCookieWithAttributeAndValue('connect.sid', 'SameSite', 'Lax'))
                .expect(200, done);
            }),
          );
        });

        describe('when "proxy" is "false"', () => {
          let server: http.Server;
          beforeAll(() => {
            server = createServer({ proxy: false, cookie: { sameSite: 'auto' } });
          });

          it(
            'should set SameSite=Lax when X-Forwarded-Proto is https',
            cb((done) => {
              request(server)
                .get('/')
                .set('X-Forwarded-Proto', 'https')
                .expect(shouldSetCookieWithAttributeAndValue('connect.sid', 'SameSite', 'Lax'))
                .expect(200, done);
            }),
          );
        });
      });

      describe('combined with secure auto', () => {
        describe('when "secure" is "auto"', () => {
          let server: http.Server;
          beforeAll(() => {
            function setup(req: any) {
              req.secure = JSON.parse(req.headers['x-secure']);
            }

            function respond(req: any, res: any) {
              res.end(String(req.secure));
            }

            server = createServer(setup, { cookie: { secure: 'auto', sameSite: 'auto' } }, respond);
          });

          it(
            'should set both Secure and SameSite=None when secure',
            cb((done) => {
              request(server)
                .get('/')
                .set('X-Secure', 'true')
                .expect(shouldSetCookieWithAttribute('connect.sid', 'Secure'))
                .expect(shouldSetCookieWithAttributeAndValue('connect.sid', 'SameSite', 'None'))
                .expect(200, 'true', done);
            }),
          );

          it(
            'should set neither Secure nor SameSite=None when insecure',
            cb((done) => {
              request(server)
                .get('/')
                .set('X-Secure', 'false')
                .expect(shouldSetCookieWithoutAttribute('connect.sid', 'Secure'))
                .expect(shouldSetCookieWithAttributeAndValue('connect.sid', 'SameSite', 'Lax'))
                .expect(200, 'false', done);
            }),
          );
        });

        describe('when "secure" is "false"', () => {
          let server: http.Server;
          beforeAll(() => {
            function setup(req: any) {
              req.secure = JSON.parse(req.headers['x-secure']);
            }

            function respond(req: any, res: any) {
              res.end(String(req.secure));
            }

            server = createServer(setup, { cookie: { secure: false, sameSite: 'auto' } }, respond);
          });

          it(
            'should set SameSite=None without Secure when secure',
            cb((done) => {
              request(server)
                .get('/')
                .set('X-Secure', 'true')
                .expect(shouldSetCookieWithoutAttribute('connect.sid', 'Secure'))
                .expect(shouldSetCookieWithAttributeAndValue('connect.sid', 'SameSite', 'None'))
                .expect(200, 'true', done);
            }),
          );

          it(
            'should set SameSite=Lax without Secure when insecure',
            cb((done) => {
              request(server)
                .get('/')
                .set('X-Secure', 'false')
                .expect(shouldSetCookieWithoutAttribute('connect.sid', 'Secure'))
                .expect(shouldSetCookieWithAttributeAndValue('connect.sid', 'SameSite', 'Lax'))
                .expect(200, 'false', done);
            }),
          );
        });

        describe('when "secure" is "true"', () => {
          let server: http.Server;
          beforeAll(() => {
            function setup(req: any) {
              req.secure = JSON.parse(req.headers['x-secure']);
            }

            function respond(req: any, res: any) {
              res.end(String(req.secure));
            }

            server = createServer(setup, { cookie: { secure: true, sameSite: 'auto' } }, respond);
          });

          it(
            'should set both Secure and SameSite=None when secure',
            cb((done) => {
              request(server)
                .get('/')
                .set('X-Secure', 'true')
                .expect(shouldSetCookieWithAttribute('connect.sid', 'Secure'))
                .expect(shouldSetCookieWithAttributeAndValue('connect.sid', 'SameSite', 'None'))
                .expect(200, 'true', done);
            }),
          );

          it(
            'should not set cookie when insecure',
            cb((done) => {
              request(server)
                .get('/')
                .set('X-Secure', 'false')
                .expect(shouldNotHaveHeader('Set-Cookie'))
                .expect(200, 'false', done);
            }),
          );
        });
      });
    });
  });

  describe('genid option', () => {
    it('should reject non-function values', () => {
      assert.throws(session.bind(null, { genid: 'bogus!' } as any), /genid.*must/);
    });

    it(
      'should provide default generator',
      cb((done) => {
        request(createServer()).get('/').expect(shouldSetCookie('connect.sid')).expect(200, done);
      }),
    );

    it(
      'should allow custom function',
      cb((done) => {
        function genid() {
          return 'apple';
        }

        request(createServer({ genid: genid }))
          .get('/')
          .expect(
            shouldSetCookieToValue(
              'connect.sid',
              's%3Aapple.D8Y%2BpkTAmeR0PobOhY4G97PRW%2Bj7bUnP%2F5m6%2FOn1MCU',
            ),
          )
          .expect(200, done);
      }),
    );

    it(
      'should encode unsafe chars',
      cb((done) => {
        function genid() {
          return '%';
        }

        request(createServer({ genid: genid }))
          .get('/')
          .expect(
            shouldSetCookieToValue(
              'connect.sid',
              's%3A%25.kzQ6x52kKVdF35Qh62AWk4ZekS28K5XYCXKa%2FOTZ01g',
            ),
          )
          .expect(200, done);
      }),
    );

    it(
      'should provide req argument',
      cb((done) => {
        function genid(req: any) {
          return req.url;
        }

        request(createServer({ genid: genid }))
          .get('/foo')
          .expect(
            shouldSetCookieToValue(
              'connect.sid',
              's%3A%2Ffoo.paEKBtAHbV5s1IB8B2zPnzAgYmmnRPIqObW4VRYj%2FMQ',
            ),
          )
          .expect(200, done);
      }),
    );
  });

  describe('key option', () => {
    it(
      'should default to "connect.sid"',
      cb((done) => {
        request(createServer()).get('/').expect(shouldSetCookie('connect.sid')).expect(200, done);
      }),
    );

    it(
      'should allow overriding',
      cb((done) => {
        request(createServer({ key: 'session_id' }))
          .get('/')
          .expect(shouldSetCookie('session_id'))
          .expect(200, done);
      }),
    );
  });

  describe('name option', () => {
    it(
      'should default to "connect.sid"',
      cb((done) => {
        request(createServer()).get('/').expect(shouldSetCookie('connect.sid')).expect(200, done);
      }),
    );

    it(
      'should set the cookie name',
      cb((done) => {
        request(createServer({ name: 'session_id' }))
          .get('/')
          .expect(shouldSetCookie('session_id'))
          .expect(200, done);
      }),
    );
  });

  describe('rolling option', () => {
    it(
      'should default to false',
      cb((done) => {
        const server = createServer(null, (req: any, res: any) => {
          req.session.user = 'bob';
          res.end();
        });

        request(server)
          .get('/')
          .expect(shouldSetCookie('connect.sid'))
          .expect(200, (err, res) => {
            if (err) return done(err);
            request(server)
              .get('/')
              .set('Cookie', cookie(res))
              .expect(shouldNotHaveHeader('Set-Cookie'))
              .expect(200, done);
          });
      }),
    );

    it(
      'should force cookie on unmodified session',
      cb((done) => {
        const server = createServer({ rolling: true }, (req: any, res: any) => {
          req.session.user = 'bob';
          res.end();
        });

        request(server)
          .get('/')
          .expect(shouldSetCookie('connect.sid'))
          .expect(200, (err, res) => {
            if (err) return done(err);
            request(server)
              .get('/')
              .set('Cookie', cookie(res))
              .expect(shouldSetCookie('connect.sid'))
              .expect(200, done);
          });
      }),
    );

    it(
      'should not force cookie on uninitialized session if saveUninitialized option is set to false',
      cb((done) => {
        const store = createRedisStore();
        const server = createServer({ store: store, rolling: true, saveUninitialized: false });

        request(server)
          .get('/')
          .expect(shouldNotSetSessionInStore(store))
          .expect(shouldNotHaveHeader('Set-Cookie'))
          .expect(200, done);
      }),
    );

    it(
      'should force cookie and save uninitialized session if saveUninitialized option is set to true',
      cb((done) => {
        const store = createRedisStore();
        const server = createServer({ store: store, rolling: true, saveUninitialized: true });

        request(server)
          .get('/')
          .expect(shouldSetSessionInStore(store))
          .expect(shouldSetCookie('connect.sid'))
          .expect(200, done);
      }),
    );

    it(
      'should force cookie and save modified session even if saveUninitialized option is set to false',
      cb((done) => {
        const store = createRedisStore();
        const server = createServer(
          { store: store, rolling: true, saveUninitialized: false },
          (req: any, res: any) => {
            req.session.user = 'bob';
            res.end();
          },
        );

        request(server)
          .get('/')
          .expect(shouldSetSessionInStore(store))
          .expect(shouldSetCookie('connect.sid'))
          .expect(200, done);
      }),
    );
  });

  describe('resave option', () => {
    it(
      'should default to true',
      cb((done) => {
        const store = createRedisStore();
        const server = createServer({ store: store }, (req: any, res: any) => {
          req.session.user = 'bob';
          res.end();
        });

        request(server)
          .get('/')
          .expect(shouldSetSessionInStore(store))
          .expect(200, (err, res) => {
            if (err) return done(err);
            request(server)
              .get('/')
              .set('Cookie', cookie(res))
              .expect(shouldSetSessionInStore(store))
              .expect(200, done);
          });
      }),
    );

    describe('when true', () => {
      it(
        'should force save on unmodified session',
        cb((done) => {
          const store = createRedisStore();
          const server = createServer({ store: store, resave: true }, (req: any, res: any) => {
            req.session.user = 'bob';
            res.end();
          });

          request(server)
            .get('/')
            .expect(shouldSetSessionInStore(store))
            .expect(200, (err, res) => {
              if (err) return done(err);
              request(server)
                .get('/')
                .set('Cookie', cookie(res))
                .expect(shouldSetSessionInStore(store))
                .expect(200, done);
            });
        }),
      );
    });

    describe('when false', () => {
      it(
        'should prevent save on unmodified session',
        cb((done) => {
          const store = createRedisStore();
          const server = createServer({ store: store, resave: false }, (req: any, res: any) => {
            req.session.user = 'bob';
            res.end();
          });

          request(server)
            .get('/')
            .expect(shouldSetSessionInStore(store))
            .expect(200, (err, res) => {
              if (err) return done(err);
              request(server)
                .get('/')
                .set('Cookie', cookie(res))
                .expect(shouldNotSetSessionInStore(store))
                .expect(200, done);
            });
        }),
      );

      it(
        'should still save modified session',
        cb((done) => {
          const store = createRedisStore();
          const server = createServer({ resave: false, store: store }, (req: any, res: any) => {
            if (req.method === 'PUT') {
              req.session.token = req.url.substr(1);
            }
            res.end('token=' + (req.session.token || ''));
          });

          request(server)
            .put('/w6RHhwaA')
            .expect(200)
            .expect(shouldSetSessionInStore(store))
            .expect('token=w6RHhwaA')
            .end((err, res) => {
              if (err) return done(err);
              const sess = cookie(res);
              request(server)
                .get('/')
                .set('Cookie', sess)
                .expect(200)
                .expect(shouldNotSetSessionInStore(store))
                .expect('token=w6RHhwaA')
                .end((err) => {
                  if (err) return done(err);
                  request(server)
                    .put('/zfQ3rzM3')
                    .set('Cookie', sess)
                    .expect(200)
                    .expect(shouldSetSessionInStore(store))
                    .expect('token=zfQ3rzM3')
                    .end(done);
                });
            });
        }),
      );

      it(
        'should detect a "cookie" property as modified',
        cb((done) => {
          const store = createRedisStore();
          const server = createServer({ store: store, resave: false }, (req: any, res: any) => {
            req.session.user = req.session.user || {};
            req.session.user.name = 'bob';
            req.session.user.cookie = req.session.user.cookie || 0;
            req.session.user.cookie++;
            res.end();
          });

          request(server)
            .get('/')
            .expect(shouldSetSessionInStore(store))
            .expect(200, (err, res) => {
              if (err) return done(err);
              request(server)
                .get('/')
                .set('Cookie', cookie(res))
                .expect(shouldSetSessionInStore(store))
                .expect(200, done);
            });
        }),
      );

      it(
        'should pass session touch error',
        cb((done) => {
          const cb2 = utils.after(2, done);
          const store = createRedisStore();
          const server = createServer({ store: store, resave: false }, (req: any, res: any) => {
            req.session.hit = true;
            res.end('session saved');
          });

          store.touch = function touch(_sid: string, _sess: unknown, callback: Done) {
            callback(new Error('boom!'));
          };

          server.on('error', function onerror(err: Error) {
            assert.ok(err);
            assert.strictEqual(err.message, 'boom!');
            cb2();
          });

          request(server)
            .get('/')
            .expect(200, 'session saved', (err, res) => {
              if (err) return cb2(err);
              request(server).get('/').set('Cookie', cookie(res)).end(cb2);
            });
        }),
      );
    });
  });

  describe('saveUninitialized option', () => {
    it(
      'should default to true',
      cb((done) => {
        const store = createRedisStore();
        const server = createServer({ store: store });

        request(server)
          .get('/')
          .expect(shouldSetSessionInStore(store))
          .expect(shouldSetCookie('connect.sid'))
          .expect(200, done);
      }),
    );

    it(
      'should force save of uninitialized session',
      cb((done) => {
        const store = createRedisStore();
        const server = createServer({ store: store, saveUninitialized: true });

        request(server)
          .get('/')
          .expect(shouldSetSessionInStore(store))
          .expect(shouldSetCookie('connect.sid'))
          .expect(200, done);
      }),
    );

    it(
      'should prevent save of uninitialized session',
      cb((done) => {
        const store = createRedisStore();
        const server = createServer({ store: store, saveUninitialized: false });

        request(server)
          .get('/')
          .expect(shouldNotSetSessionInStore(store))
          .expect(shouldNotHaveHeader('Set-Cookie'))
          .expect(200, done);
      }),
    );

    it(
      'should still save modified session',
      cb((done) => {
        const store = createRedisStore();
        const server = createServer(
          { store: store, saveUninitialized: false },
          (req: any, res: any) => {
            req.session.count = req.session.count || 0;
            req.session.count++;
            res.end();
          },
        );

        request(server)
          .get('/')
          .expect(shouldSetSessionInStore(store))
          .expect(shouldSetCookie('connect.sid'))
          .expect(200, done);
      }),
    );

    it(
      'should pass session save error',
      cb((done) => {
        const cb2 = utils.after(2, done);
        const store = createRedisStore();
        const server = createServer(
          { store: store, saveUninitialized: true },
          (_req: any, res: any) => {
            res.end('session saved');
          },
        );

        store.set = function destroy(_sid: string, _sess: unknown, callback: Done) {
          callback(new Error('boom!'));
        };

        server.on('error', function onerror(err: Error) {
          assert.ok(err);
          assert.strictEqual(err.message, 'boom!');
          cb2();
        });

        request(server).get('/').expect(200, 'session saved', cb2);
      }),
    );

    it(
      'should prevent uninitialized session from being touched',
      cb((done) => {
        const cb2 = utils.after(1, done);
        const store = createRedisStore();
        const server = createServer(
          { saveUninitialized: false, store: store, cookie: { maxAge: min } },
          (_req: any, res: any) => {
            res.end();
          },
        );

        store.touch = () => {
          cb2(new Error('should not be called'));
        };

        request(server).get('/').expect(200, cb2);
      }),
    );
  });

  describe('secret option', () => {
    it('should reject empty arrays', () => {
      assert.throws(createServer.bind(null, { secret: [] }), /secret option array/);
    });

    it(
      'should sign and unsign with a string',
      cb((done) => {
        const server = createServer({ secret: 'awesome cat' }, (req: any, res: any) => {
          if (!req.session.user) {
            req.session.user = 'bob';
            res.end('set');
          } else {
            res.end('get:' + JSON.stringify(req.session.user));
          }
        });

        request(server)
          .get('/')
          .expect(shouldSetCookie('connect.sid'))
          .expect(200, 'set', (err, res) => {
            if (err) return done(err);
            request(server).get('/').set('Cookie', cookie(res)).expect(200, 'get:"bob"', done);
          });
      }),
    );

    it(
      'should sign and unsign with a Buffer',
      cb((done) => {
        const server = createServer({ secret: crypto.randomBytes(32) }, (req: any, res: any) => {
          if (!req.session.user) {
            req.session.user = 'bob';
            res.end('set');
          } else {
            res.end('get:' + JSON.stringify(req.session.user));
          }
        });

        request(server)
          .get('/')
          .expect(shouldSetCookie('connect.sid'))
          .expect(200, 'set', (err, res) => {
            if (err) return done(err);
            request(server).get('/').set('Cookie', cookie(res)).expect(200, 'get:"bob"', done);
          });
      }),
    );

    describe('when an array', () => {
      it(
        'should sign cookies',
        cb((done) => {
          const server = createServer(
            { secret: ['keyboard cat', 'nyan cat'] },
            (req: any, res: any) => {
              req.session.user = 'bob';
              res.end(req.session.user);
            },
          );

          request(server).get('/').expect(shouldSetCookie('connect.sid')).expect(200, 'bob', done);
        }),
      );

      it(
        'should sign cookies with first element',
        cb((done) => {
          const store = createRedisStore();

          const server1 = createServer(
            { secret: ['keyboard cat', 'nyan cat'], store: store },
            (req: any, res: any) => {
              req.session.user = 'bob';
              res.end(req.session.user);
            },
          );

          const server2 = createServer(
            { secret: 'nyan cat', store: store },
            (req: any, res: any) => {
              res.end(String(req.session.user));
            },
          );

          request(server1)
            .get('/')
            .expect(shouldSetCookie('connect.sid'))
            .expect(200, 'bob', (err, res) => {
              if (err) return done(err);
              request(server2).get('/').set('Cookie', cookie(res)).expect(200, 'undefined', done);
            });
        }),
      );

      it(
        'should read cookies using all elements',
        cb((done) => {
          const store = createRedisStore();

          const server1 = createServer(
            { secret: 'nyan cat', store: store },
            (req: any, res: any) => {
              req.session.user = 'bob';
              res.end(req.session.user);
            },
          );

          const server2 = createServer(
            { secret: ['keyboard cat', 'nyan cat'], store: store },
            (req: any, res: any) => {
              res.end(String(req.session.user));
            },
          );

          request(server1)
            .get('/')
            .expect(shouldSetCookie('connect.sid'))
            .expect(200, 'bob', (err, res) => {
              if (err) return done(err);
              request(server2).get('/').set('Cookie', cookie(res)).expect(200, 'bob', done);
            });
        }),
      );
    });
  });

  describe('unset option', () => {
    it('should reject unknown values', () => {
      assert.throws(session.bind(null, { unset: 'bogus!' } as any), /unset.*must/);
    });

    it(
      'should default to keep',
      cb((done) => {
        const store = createRedisStore();
        const server = createServer({ store: store }, (req: any, res: any) => {
          req.session.count = req.session.count || 0;
          req.session.count++;
          if (req.session.count === 2) req.session = null;
          res.end();
        });

        request(server)
          .get('/')
          .expect(200, (err, res) => {
            if (err) return done(err);
            store.length((err, len) => {
              if (err) return done(err);
              assert.strictEqual(len, 1);
              request(server)
                .get('/')
                .set('Cookie', cookie(res))
                .expect(200, (err, _res) => {
                  if (err) return done(err);
                  store.length((err, len) => {
                    if (err) return done(err);
                    assert.strictEqual(len, 1);
                    done();
                  });
                });
            });
          });
      }),
    );

    it(
      'should allow destroy on req.session = null',
      cb((done) => {
        const store = createRedisStore();
        const server = createServer({ store: store, unset: 'destroy' }, (req: any, res: any) => {
          req.session.count = req.session.count || 0;
          req.session.count++;
          if (req.session.count === 2) req.session = null;
          res.end();
        });

        request(server)
          .get('/')
          .expect(200, (err, res) => {
            if (err) return done(err);
            store.length((err, len) => {
              if (err) return done(err);
              assert.strictEqual(len, 1);
              request(server)
                .get('/')
                .set('Cookie', cookie(res))
                .expect(200, (err, _res) => {
                  if (err) return done(err);
                  store.length((err, len) => {
                    if (err) return done(err);
                    assert.strictEqual(len, 0);
                    done();
                  });
                });
            });
          });
      }),
    );

    it(
      'should not set cookie if initial session destroyed',
      cb((done) => {
        const store = createRedisStore();
        const server = createServer({ store: store, unset: 'destroy' }, (req: any, res: any) => {
          req.session = null;
          res.end();
        });

        request(server)
          .get('/')
          .expect(shouldNotHaveHeader('Set-Cookie'))
          .expect(200, (err, _res) => {
            if (err) return done(err);
            store.length((err, len) => {
              if (err) return done(err);
              assert.strictEqual(len, 0);
              done();
            });
          });
      }),
    );

    it(
      'should pass session destroy error',
      cb((done) => {
        const cb2 = utils.after(2, done);
        const store = createRedisStore();
        const server = createServer({ store: store, unset: 'destroy' }, (req: any, res: any) => {
          req.session = null;
          res.end('session destroyed');
        });

        store.destroy = function destroy(_sid: string, callback: Done) {
          callback(new Error('boom!'));
        };

        server.on('error', function onerror(err: Error) {
          assert.ok(err);
          assert.strictEqual(err.message, 'boom!');
          cb2();
        });

        request(server).get('/').expect(200, 'session destroyed', cb2);
      }),
    );
  });

  describe('res.end patch', () => {
    it(
      'should correctly handle res.end/res.write patched prior',
      cb((done) => {
        function setup(_req: any, res: any) {
          utils.writePatch(res);
        }

        function respond(req: any, res: any) {
          req.session.hit = true;
          res.write('hello, ');
          res.end('world');
        }

        request(createServer(setup, null, respond))
          .get('/')
          .expect(200, 'hello, world', done);
      }),
    );

    it(
      'should correctly handle res.end/res.write patched after',
      cb((done) => {
        function respond(req: any, res: any) {
          utils.writePatch(res);
          req.session.hit = true;
          res.write('hello, ');
          res.end('world');
        }

        request(createServer(null, respond)).get('/').expect(200, 'hello, world', done);
      }),
    );

    it(
      'should error when res.end is called twice',
      cb((done) => {
        let error1: any = null;
        let error2: any = null;
        const server = http.createServer((_req, res) => {
          res.end();

          try {
            res.setHeader('Content-Length', '3');
            res.end('foo');
          } catch (e) {
            error1 = e;
          }
        });

        function respond(_req: any, res: any) {
          res.end();

          try {
            res.setHeader('Content-Length', '3');
            res.end('foo');
          } catch (e) {
            error2 = e;
          }
        }

        request(server)
          .get('/')
          .end((err, res) => {
            if (err) return done(err);
            request(createServer(null, respond))
              .get('/')
              .expect(() => {
                // biome-ignore lint/complexity/useOptionalChain: the upstream expression, kept as written
                assert.strictEqual(error1 && error1.message, error2 && error2.message);
              })
              .expect(res.statusCode, res.text, done);
          });
      }),
    );
  });

  describe('req.session', () => {
    it(
      'should persist',
      cb((done) => {
        const store = createRedisStore();
        const server = createServer({ store: store }, (req: any, res: any) => {
          req.session.count = req.session.count || 0;
          req.session.count++;
          res.end('hits: ' + req.session.count);
        });

        request(server)
          .get('/')
          .expect(200, 'hits: 1', (err, res) => {
            if (err) return done(err);
            store.load(sid(res) as string, (err, sess) => {
              if (err) return done(err);
              assert.ok(sess);
              request(server).get('/').set('Cookie', cookie(res)).expect(200, 'hits: 2', done);
            });
          });
      }),
    );

    it(
      'should only set-cookie when modified',
      cb((done) => {
        let modify = true;
        const server = createServer(null, (req: any, res: any) => {
          if (modify) {
            req.session.count = req.session.count || 0;
            req.session.count++;
          }
          res.end(req.session.count.toString());
        });

        request(server)
          .get('/')
          .expect(200, '1', (err, res) => {
            if (err) return done(err);
            request(server)
              .get('/')
              .set('Cookie', cookie(res))
              .expect(200, '2', (err, res) => {
                if (err) return done(err);
                const val = cookie(res);
                modify = false;

                request(server)
                  .get('/')
                  .set('Cookie', val)
                  .expect(shouldNotHaveHeader('Set-Cookie'))
                  .expect(200, '2', (err, _res) => {
                    if (err) return done(err);
                    modify = true;

                    request(server)
                      .get('/')
                      .set('Cookie', val)
                      .expect(shouldSetCookie('connect.sid'))
                      .expect(200, '3', done);
                  });
              });
          });
      }),
    );

    it(
      'should not have enumerable methods',
      cb((done) => {
        const server = createServer(null, (req: any, res: any) => {
          req.session.foo = 'foo';
          req.session.bar = 'bar';
          const keys = [];
          for (const key in req.session) {
            keys.push(key);
          }
          res.end(keys.sort().join(','));
        });

        request(server).get('/').expect(200, 'bar,cookie,foo', done);
      }),
    );

    it(
      'should not be set if store is disconnected',
      cb((done) => {
        const store = createRedisStore();
        const server = createServer({ store: store }, (req: any, res: any) => {
          res.end(typeof req.session);
        });

        store.emit('disconnect');

        request(server)
          .get('/')
          .expect(shouldNotHaveHeader('Set-Cookie'))
          .expect(200, 'undefined', done);
      }),
    );

    it(
      'should be set when store reconnects',
      cb((done) => {
        const store = createRedisStore();
        const server = createServer({ store: store }, (req: any, res: any) => {
          res.end(typeof req.session);
        });

        store.emit('disconnect');

        request(server)
          .get('/')
          .expect(shouldNotHaveHeader('Set-Cookie'))
          .expect(200, 'undefined', (err) => {
            if (err) return done(err);

            store.emit('connect');

            request(server).get('/').expect(200, 'object', done);
          });
      }),
    );

    describe('.destroy()', () => {
      it(
        'should destroy the previous session',
        cb((done) => {
          const server = createServer(null, (req: any, res: any) => {
            req.session.destroy((err: any) => {
              if (err) res.statusCode = 500;
              res.end(String(req.session));
            });
          });

          request(server)
            .get('/')
            .expect(shouldNotHaveHeader('Set-Cookie'))
            .expect(200, 'undefined', done);
        }),
      );
    });

    describe('.regenerate()', () => {
      it(
        'should destroy/replace the previous session',
        cb((done) => {
          const server = createServer(null, (req: any, res: any) => {
            const id = req.session.id;
            req.session.regenerate((err: any) => {
              if (err) res.statusCode = 500;
              res.end(String(req.session.id === id));
            });
          });

          request(server)
            .get('/')
            .expect(shouldSetCookie('connect.sid'))
            .expect(200, (err, res) => {
              if (err) return done(err);
              request(server)
                .get('/')
                .set('Cookie', cookie(res))
                .expect(shouldSetCookie('connect.sid'))
                .expect(shouldSetCookieToDifferentSessionId(sid(res)))
                .expect(200, 'false', done);
            });
        }),
      );
    });

    describe('.reload()', () => {
      it(
        'should reload session from store',
        cb((done) => {
          const server = createServer(null, (req: any, res: any) => {
            if (req.url === '/') {
              req.session.active = true;
              res.end('session created');
              return;
            }

            req.session.url = req.url;

            if (req.url === '/bar') {
              res.end('saw ' + req.session.url);
              return;
            }

            request(server)
              .get('/bar')
              .set('Cookie', val)
              .expect(200, 'saw /bar', (err, _resp) => {
                if (err) return done(err);
                req.session.reload((err: any) => {
                  if (err) return done(err);
                  res.end('saw ' + req.session.url);
                });
              });
          });
          let val: string;

          request(server)
            .get('/')
            .expect(200, 'session created', (err, res) => {
              if (err) return done(err);
              val = cookie(res);
              request(server).get('/foo').set('Cookie', val).expect(200, 'saw /bar', done);
            });
        }),
      );

      it(
        'should error is session missing',
        cb((done) => {
          const store = createRedisStore();
          const server = createServer({ store: store }, (req: any, res: any) => {
            if (req.url === '/') {
              req.session.active = true;
              res.end('session created');
              return;
            }

            store.clear((err) => {
              if (err) return done(err);
              req.session.reload((err: any) => {
                res.statusCode = err ? 500 : 200;
                res.end(err ? err.message : '');
              });
            });
          });

          request(server)
            .get('/')
            .expect(200, 'session created', (err, res) => {
              if (err) return done(err);
              request(server)
                .get('/foo')
                .set('Cookie', cookie(res))
                .expect(500, 'failed to load session', done);
            });
        }),
      );

      it(
        'should not override an overridden `reload` in case of errors',
        cb((done) => {
          const store = createRedisStore();
          const server = createServer({ store: store, resave: false }, (req: any, res: any) => {
            if (req.url === '/') {
              req.session.active = true;
              res.end('session created');
              return;
            }

            store.clear((err) => {
              if (err) return done(err);

              // reload way too many times on top of each other,
              // attempting to overflow the call stack
              let iters = 20;
              reload();
              function reload() {
                if (!--iters) {
                  res.end('ok');
                  return;
                }

                try {
                  req.session.reload(reload);
                } catch (e: any) {
                  res.statusCode = 500;
                  res.end(e.message);
                }
              }
            });
          });

          request(server)
            .get('/')
            .expect(200, 'session created', (err, res) => {
              if (err) return done(err);
              request(server).get('/foo').set('Cookie', cookie(res)).expect(200, 'ok', done);
            });
        }),
      );
    });

    describe('.save()', () => {
      it(
        'should save session to store',
        cb((done) => {
          const store = createRedisStore();
          const server = createServer({ store: store }, (req: any, res: any) => {
            req.session.hit = true;
            req.session.save((err: any) => {
              if (err) return res.end(err.message);
              store.get(req.session.id, (err, sess) => {
                if (err) return res.end(err.message);
                res.end(sess ? 'stored' : 'empty');
              });
            });
          });

          request(server).get('/').expect(200, 'stored', done);
        }),
      );

      it(
        'should prevent end-of-request save',
        cb((done) => {
          const store = createRedisStore();
          const server = createServer({ store: store }, (req: any, res: any) => {
            req.session.hit = true;
            req.session.save((err: any) => {
              if (err) return res.end(err.message);
              res.end('saved');
            });
          });

          request(server)
            .get('/')
            .expect(shouldSetSessionInStore(store))
            .expect(200, 'saved', (err, res) => {
              if (err) return done(err);
              request(server)
                .get('/')
                .set('Cookie', cookie(res))
                .expect(shouldSetSessionInStore(store))
                .expect(200, 'saved', done);
            });
        }),
      );

      it(
        'should prevent end-of-request save on reloaded session',
        cb((done) => {
          const store = createRedisStore();
          const server = createServer({ store: store }, (req: any, res: any) => {
            req.session.hit = true;
            req.session.reload(() => {
              req.session.save((err: any) => {
                if (err) return res.end(err.message);
                res.end('saved');
              });
            });
          });

          request(server)
            .get('/')
            .expect(shouldSetSessionInStore(store))
            .expect(200, 'saved', (err, res) => {
              if (err) return done(err);
              request(server)
                .get('/')
                .set('Cookie', cookie(res))
                .expect(shouldSetSessionInStore(store))
                .expect(200, 'saved', done);
            });
        }),
      );

      describe('when saveUninitialized is false', () => {
        it(
          'should prevent end-of-request save',
          cb((done) => {
            const store = createRedisStore();
            const server = createServer(
              { saveUninitialized: false, store: store },
              (req: any, res: any) => {
                req.session.hit = true;
                req.session.save((err: any) => {
                  if (err) return res.end(err.message);
                  res.end('saved');
                });
              },
            );

            request(server)
              .get('/')
              .expect(shouldSetSessionInStore(store))
              .expect(200, 'saved', (err, res) => {
                if (err) return done(err);
                request(server)
                  .get('/')
                  .set('Cookie', cookie(res))
                  .expect(shouldSetSessionInStore(store))
                  .expect(200, 'saved', done);
              });
          }),
        );
      });
    });

    describe('.touch()', () => {
      it(
        'should reset session expiration',
        cb((done) => {
          const store = createRedisStore();
          const server = createServer(
            { resave: false, store: store, cookie: { maxAge: min } },
            (req: any, res: any) => {
              req.session.hit = true;
              req.session.touch();
              res.end();
            },
          );

          request(server)
            .get('/')
            .expect(200, (err, res) => {
              if (err) return done(err);
              const id = sid(res) as string;
              store.get(id, (err, sess: any) => {
                if (err) return done(err);
                const exp = new Date(sess.cookie.expires);
                setTimeout(() => {
                  request(server)
                    .get('/')
                    .set('Cookie', cookie(res))
                    .expect(200, (err, _res) => {
                      if (err) return done(err);
                      store.get(id, (err, sess: any) => {
                        if (err) return done(err);
                        assert.notStrictEqual(
                          new Date(sess.cookie.expires).getTime(),
                          exp.getTime(),
                        );
                        done();
                      });
                    });
                }, 100);
              });
            });
        }),
      );
    });

    describe('.cookie', () => {
      describe('.*', () => {
        it(
          'should serialize as parameters',
          cb((done) => {
            const server = createServer({ proxy: true }, (req: any, res: any) => {
              req.session.cookie.httpOnly = false;
              req.session.cookie.secure = true;
              res.end();
            });

            request(server)
              .get('/')
              .set('X-Forwarded-Proto', 'https')
              .expect(shouldSetCookieWithoutAttribute('connect.sid', 'HttpOnly'))
              .expect(shouldSetCookieWithAttribute('connect.sid', 'Secure'))
              .expect(200, done);
          }),
        );

        it(
          'should default to a browser-session length cookie',
          cb((done) => {
            request(createServer({ cookie: { path: '/admin' } }))
              .get('/admin')
              .expect(shouldSetCookieWithoutAttribute('connect.sid', 'Expires'))
              .expect(200, done);
          }),
        );

        it(
          'should Set-Cookie only once for browser-session cookies',
          cb((done) => {
            const server = createServer({ cookie: { path: '/admin' } });

            request(server)
              .get('/admin/foo')
              .expect(shouldSetCookie('connect.sid'))
              .expect(200, (err, res) => {
                if (err) return done(err);
                request(server)
                  .get('/admin')
                  .set('Cookie', cookie(res))
                  .expect(shouldNotHaveHeader('Set-Cookie'))
                  .expect(200, done);
              });
          }),
        );

        it(
          'should override defaults',
          cb((done) => {
            const opts = {
              httpOnly: false,
              maxAge: 5000,
              path: '/admin',
              priority: 'high',
              secure: true,
            };
            const server = createServer({ cookie: opts }, (req: any, res: any) => {
              req.session.cookie.secure = false;
              res.end();
            });

            request(server)
              .get('/admin')
              .expect(shouldSetCookieWithAttribute('connect.sid', 'Expires'))
              .expect(shouldSetCookieWithoutAttribute('connect.sid', 'HttpOnly'))
              .expect(shouldSetCookieWithAttributeAndValue('connect.sid', 'Path', '/admin'))
              .expect(shouldSetCookieWithoutAttribute('connect.sid', 'Secure'))
              .expect(shouldSetCookieWithAttributeAndValue('connect.sid', 'Priority', 'High'))
              .expect(200, done);
          }),
        );

        it(
          'should forward errors setting cookie',
          cb((done) => {
            const cb2 = utils.after(2, done);
            const server = createServer(
              { cookie: { expires: new Date(Number.NaN) } },
              (_req: any, res: any) => {
                res.end();
              },
            );

            server.on('error', function onerror(err: Error) {
              assert.ok(err);
              assert.strictEqual(err.message, 'option expires is invalid');
              cb2();
            });

            request(server).get('/admin').expect(200, cb2);
          }),
        );

        it(
          'should preserve cookies set before writeHead is called',
          cb((done) => {
            const server = createServer(null, (_req: any, res: any) => {
              const cookie = new Cookie();
              res.setHeader('Set-Cookie', cookie.serialize('previous', 'cookieValue'));
              res.end();
            });

            request(server)
              .get('/')
              .expect(shouldSetCookieToValue('previous', 'cookieValue'))
              .expect(200, done);
          }),
        );

        it(
          'should preserve cookies set in writeHead',
          cb((done) => {
            const server = createServer(null, (_req: any, res: any) => {
              const cookie = new Cookie();
              res.writeHead(200, {
                'Set-Cookie': cookie.serialize('previous', 'cookieValue'),
              });
              res.end();
            });

            request(server)
              .get('/')
              .expect(shouldSetCookieToValue('previous', 'cookieValue'))
              .expect(200, done);
          }),
        );
      });

      describe('.originalMaxAge', () => {
        it(
          'should equal original maxAge',
          cb((done) => {
            const server = createServer({ cookie: { maxAge: 2000 } }, (req: any, res: any) => {
              res.end(JSON.stringify(req.session.cookie.originalMaxAge));
            });

            request(server)
              .get('/')
              .expect(200)
              .expect((res) => {
                // account for 1ms latency
                assert.ok(
                  res.text === '2000' || res.text === '1999',
                  'expected 2000, got ' + res.text,
                );
              })
              .end(done);
          }),
        );

        it(
          'should equal original maxAge for all requests',
          cb((done) => {
            const server = createServer({ cookie: { maxAge: 2000 } }, (req: any, res: any) => {
              res.end(JSON.stringify(req.session.cookie.originalMaxAge));
            });

            request(server)
              .get('/')
              .expect(200)
              .expect((res) => {
                // account for 1ms latency
                assert.ok(
                  res.text === '2000' || res.text === '1999',
                  'expected 2000, got ' + res.text,
                );
              })
              .end((err, res) => {
                if (err) return done(err);
                setTimeout(() => {
                  request(server)
                    .get('/')
                    .set('Cookie', cookie(res))
                    .expect(200)
                    .expect((res) => {
                      // account for 1ms latency
                      assert.ok(
                        res.text === '2000' || res.text === '1999',
                        'expected 2000, got ' + res.text,
                      );
                    })
                    .end(done);
                }, 100);
              });
          }),
        );

        it(
          'should equal original maxAge for all requests',
          cb((done) => {
            const store = new SmartStore();
            const server = createServer(
              { cookie: { maxAge: 2000 }, store: store },
              (req: any, res: any) => {
                res.end(JSON.stringify(req.session.cookie.originalMaxAge));
              },
            );

            request(server)
              .get('/')
              .expect(200)
              .expect((res) => {
                // account for 1ms latency
                assert.ok(
                  res.text === '2000' || res.text === '1999',
                  'expected 2000, got ' + res.text,
                );
              })
              .end((err, res) => {
                if (err) return done(err);
                setTimeout(() => {
                  request(server)
                    .get('/')
                    .set('Cookie', cookie(res))
                    .expect(200)
                    .expect((res) => {
                      // account for 1ms latency
                      assert.ok(
                        res.text === '2000' || res.text === '1999',
                        'expected 2000, got ' + res.text,
                      );
                    })
                    .end(done);
                }, 100);
              });
          }),
        );
      });

      describe('.secure', () => {
        let app: http.RequestListener;

        beforeAll(() => {
          app = createRequestListener({ secret: 'keyboard cat', cookie: { secure: true } });
        });

        it(
          'should set cookie when secure',
          cb((done) => {
            const fixtures = tlsFixtures();
            const cert = fs.readFileSync(fixtures + '/server.crt', 'ascii');
            const server = https.createServer({
              key: fs.readFileSync(fixtures + '/server.key', 'ascii'),
              cert: cert,
            });

            server.on('request', app);

            const agent: any = new https.Agent({ ca: cert });
            const createConnection = agent.createConnection;

            agent.createConnection = function (this: unknown, options: any) {
              options.servername = 'express-session.local';
              return createConnection.call(this, options);
            };

            const req = request(server).get('/');
            req.agent(agent);
            req.expect(shouldSetCookie('connect.sid'));
            req.expect(200, done);
          }),
        );

        it(
          'should not set-cookie when insecure',
          cb((done) => {
            const server = http.createServer(app);

            request(server).get('/').expect(shouldNotHaveHeader('Set-Cookie')).expect(200, done);
          }),
        );
      });

      describe('.maxAge', () => {
        const ctx: { cookie: string; server: http.Server } = {} as never;

        beforeAll(
          cb((done) => {
            ctx.cookie = '';
            ctx.server = createServer({ cookie: { maxAge: 2000 } }, (req: any, res: any) => {
              switch (++req.session.count) {
                case 1:
                  break;
                case 2:
                  req.session.cookie.maxAge = 5000;
                  break;
                case 3:
                  req.session.cookie.maxAge = 3000000000;
                  break;
                default:
                  req.session.count = 0;
                  break;
              }
              res.end(req.session.count.toString());
            });

            request(ctx.server)
              .get('/')
              .end((err, res) => {
                ctx.cookie = res && cookie(res);
                done(err);
              });
          }),
        );

        it(
          'should set cookie expires relative to maxAge',
          cb((done) => {
            request(ctx.server)
              .get('/')
              .set('Cookie', ctx.cookie)
              .expect(shouldSetCookieToExpireIn('connect.sid', 2000))
              .expect(200, '1', done);
          }),
        );

        it(
          'should modify cookie expires when changed',
          cb((done) => {
            request(ctx.server)
              .get('/')
              .set('Cookie', ctx.cookie)
              .expect(shouldSetCookieToExpireIn('connect.sid', 5000))
              .expect(200, '2', done);
          }),
        );

        it(
          'should modify cookie expires when changed to large value',
          cb((done) => {
            request(ctx.server)
              .get('/')
              .set('Cookie', ctx.cookie)
              .expect(shouldSetCookieToExpireIn('connect.sid', 3000000000))
              .expect(200, '3', done);
          }),
        );
      });

      describe('.expires', () => {
        describe('when given a Date', () => {
          it(
            'should set absolute',
            cb((done) => {
              const server = createServer(null, (req: any, res: any) => {
                req.session.cookie.expires = new Date(0);
                res.end();
              });

              request(server)
                .get('/')
                .expect(
                  shouldSetCookieWithAttributeAndValue(
                    'connect.sid',
                    'Expires',
                    'Thu, 01 Jan 1970 00:00:00 GMT',
                  ),
                )
                .expect(200, done);
            }),
          );
        });

        describe('when null', () => {
          it(
            'should be a browser-session cookie',
            cb((done) => {
              const server = createServer(null, (req: any, res: any) => {
                req.session.cookie.expires = null;
                res.end();
              });

              request(server)
                .get('/')
                .expect(shouldSetCookieWithoutAttribute('connect.sid', 'Expires'))
                .expect(200, done);
            }),
          );

          it(
            'should not reset cookie',
            cb((done) => {
              const server = createServer(null, (req: any, res: any) => {
                req.session.cookie.expires = null;
                res.end();
              });

              request(server)
                .get('/')
                .expect(shouldSetCookieWithoutAttribute('connect.sid', 'Expires'))
                .expect(200, (err, res) => {
                  if (err) return done(err);
                  request(server)
                    .get('/')
                    .set('Cookie', cookie(res))
                    .expect(shouldNotHaveHeader('Set-Cookie'))
                    .expect(200, done);
                });
            }),
          );

          it(
            'should not reset cookie when modified',
            cb((done) => {
              const server = createServer(null, (req: any, res: any) => {
                req.session.cookie.expires = null;
                req.session.hit = (req.session.hit || 0) + 1;
                res.end();
              });

              request(server)
                .get('/')
                .expect(shouldSetCookieWithoutAttribute('connect.sid', 'Expires'))
                .expect(200, (err, res) => {
                  if (err) return done(err);
                  request(server)
                    .get('/')
                    .set('Cookie', cookie(res))
                    .expect(shouldNotHaveHeader('Set-Cookie'))
                    .expect(200, done);
                });
            }),
          );
        });
      });

      describe('.partitioned', () => {
        describe('by default', () => {
          it(
            'should not set partitioned attribute',
            cb((done) => {
              const server = createServer();

              request(server)
                .get('/')
                .expect(shouldSetCookieWithoutAttribute('connect.sid', 'Partitioned'))
                .expect(200, done);
            }),
          );
        });

        describe('when "false"', () => {
          it(
            'should not set partitioned attribute',
            cb((done) => {
              const server = createServer({ cookie: { partitioned: false } });

              request(server)
                .get('/')
                .expect(shouldSetCookieWithoutAttribute('connect.sid', 'Partitioned'))
                .expect(200, done);
            }),
          );
        });

        describe('when "true"', () => {
          it(
            'should set partitioned attribute',
            cb((done) => {
              const server = createServer({ cookie: { partitioned: true } });

              request(server)
                .get('/')
                .expect(shouldSetCookieWithAttribute('connect.sid', 'Partitioned'))
                .expect(200, done);
            }),
          );
        });
      });
    });
  });

  describe('synchronous store', () => {
    it(
      'should respond correctly on save',
      cb((done) => {
        const store = new SyncStore();
        const server = createServer({ store: store }, (req: any, res: any) => {
          req.session.count = req.session.count || 0;
          req.session.count++;
          res.end('hits: ' + req.session.count);
        });

        request(server).get('/').expect(200, 'hits: 1', done);
      }),
    );

    it(
      'should respond correctly on destroy',
      cb((done) => {
        const store = new SyncStore();
        const server = createServer({ store: store, unset: 'destroy' }, (req: any, res: any) => {
          req.session.count = req.session.count || 0;
          const count = ++req.session.count;
          if (req.session.count > 1) {
            req.session = null;
            res.write('destroyed\n');
          }
          res.end('hits: ' + count);
        });

        request(server)
          .get('/')
          .expect(200, 'hits: 1', (err, res) => {
            if (err) return done(err);
            request(server)
              .get('/')
              .set('Cookie', cookie(res))
              .expect(200, 'destroyed\nhits: 2', done);
          });
      }),
    );
  });

  describe('cookieParser()', () => {
    it(
      'should read from req.cookies',
      cb((done) => {
        const app = express()
          .use(cookieParser())
          .use((req: any, _res: any, next: any) => {
            req.headers.cookie = 'foo=bar';
            next();
          })
          .use(createSession())
          .use((req: any, res: any, _next: any) => {
            req.session.count = req.session.count || 0;
            req.session.count++;
            res.end(req.session.count.toString());
          });

        request(app)
          .get('/')
          .expect(200, '1', (err, res) => {
            if (err) return done(err);
            request(app).get('/').set('Cookie', cookie(res)).expect(200, '2', done);
          });
      }),
    );

    it(
      'should reject unsigned from req.cookies',
      cb((done) => {
        const app = express()
          .use(cookieParser())
          .use((req: any, _res: any, next: any) => {
            req.headers.cookie = 'foo=bar';
            next();
          })
          .use(createSession({ key: 'sessid' }))
          .use((req: any, res: any, _next: any) => {
            req.session.count = req.session.count || 0;
            req.session.count++;
            res.end(req.session.count.toString());
          });

        request(app)
          .get('/')
          .expect(200, '1', (err, res) => {
            if (err) return done(err);
            request(app)
              .get('/')
              .set('Cookie', 'sessid=' + sid(res))
              .expect(200, '1', done);
          });
      }),
    );

    it(
      'should reject invalid signature from req.cookies',
      cb((done) => {
        const app = express()
          .use(cookieParser())
          .use((req: any, _res: any, next: any) => {
            req.headers.cookie = 'foo=bar';
            next();
          })
          .use(createSession({ key: 'sessid' }))
          .use((req: any, res: any, _next: any) => {
            req.session.count = req.session.count || 0;
            req.session.count++;
            res.end(req.session.count.toString());
          });

        request(app)
          .get('/')
          .expect(200, '1', (err, res) => {
            if (err) return done(err);
            const val = cookie(res).replace(/...\./, '.');
            request(app).get('/').set('Cookie', val).expect(200, '1', done);
          });
      }),
    );

    it(
      'should read from req.signedCookies',
      cb((done) => {
        const app = express()
          .use(cookieParser('keyboard cat'))
          .use((req: any, _res: any, next: any) => {
            delete req.headers.cookie;
            next();
          })
          .use(createSession())
          .use((req: any, res: any, _next: any) => {
            req.session.count = req.session.count || 0;
            req.session.count++;
            res.end(req.session.count.toString());
          });

        request(app)
          .get('/')
          .expect(200, '1', (err, res) => {
            if (err) return done(err);
            request(app).get('/').set('Cookie', cookie(res)).expect(200, '2', done);
          });
      }),
    );
  });
});

function cookie(res: any): string {
  const setCookie = res.headers['set-cookie'];
  // biome-ignore lint/complexity/useOptionalChain: the upstream expression, kept as written
  return (setCookie && setCookie[0]) || undefined;
}

function createServer(...args: any[]): http.Server {
  let fn = args[1];
  let opts = args[0];
  const server = http.createServer();

  // setup, options, respond
  if (typeof args[0] === 'function') {
    opts = args[1];
    fn = args[2];

    server.on('request', args[0]);
  }

  return server.on('request', createRequestListener(opts, fn));
}

function createRequestListener(opts?: any, fn?: any): http.RequestListener {
  const _session = createSession(opts);
  const respond = fn || end;

  return function onRequest(this: http.Server, req: any, res: any) {
    _session(req, res, (err?: any) => {
      if (err && !res._header) {
        res.statusCode = err.status || 500;
        res.end(err.message);
        return;
      }

      if (err) {
        this.emit('error', err);
        return;
      }

      respond(req, res);
    });
  } as http.RequestListener;
}

function createSession(opts?: any) {
  const options = opts || {};

  if (!('cookie' in options)) {
    options.cookie = { maxAge: 60 * 1000 };
  }

  if (!('secret' in options)) {
    options.secret = 'keyboard cat';
  }

  // The one change to the suite's helpers: where express-session would create its own
  // MemoryStore (no `store` option), the store under test is used.
  if (!('store' in options)) {
    options.store = createRedisStore();
  }

  return session(options);
}

function end(_req: any, res: any) {
  res.end();
}

function expires(res: any) {
  const header = cookie(res);
  return header && utils.parseSetCookie(header).expires;
}

function mountAt(path: string) {
  return (req: any, _res: any) => {
    if (req.url.indexOf(path) === 0) {
      req.originalUrl = req.url;
      req.url = req.url.slice(path.length);
    }
  };
}

function shouldNotHaveHeader(header: string) {
  return (res: any) => {
    assert.ok(!(header.toLowerCase() in res.headers), 'should not have ' + header + ' header');
  };
}

function shouldNotSetSessionInStore(store: any) {
  const _set = store.set;
  let count = 0;

  store.set = function set(this: unknown, ...args: unknown[]) {
    count++;
    return _set.apply(this, args);
  };

  return () => {
    assert.ok(count === 0, 'should not set session in store');
  };
}

function shouldSetCookie(name: string) {
  return (res: any) => {
    const header = cookie(res);
    const data = header && utils.parseSetCookie(header);
    assert.ok(header, 'should have a cookie header');
    assert.strictEqual((data as utils.SetCookie).name, name, 'should set cookie ' + name);
  };
}

function shouldSetCookieToDifferentSessionId(id: string | undefined) {
  return (res: any) => {
    assert.notStrictEqual(sid(res), id);
  };
}

function shouldSetCookieToExpireIn(name: string, delta: number) {
  return (res: any) => {
    const header = cookie(res);
    const data = (header && utils.parseSetCookie(header)) as utils.SetCookie;
    assert.ok(header, 'should have a cookie header');
    assert.strictEqual(data.name, name, 'should set cookie ' + name);
    assert.ok('expires' in data, 'should set cookie with attribute Expires');
    assert.ok('date' in res.headers, 'should have a date header');
    assert.strictEqual(
      Date.parse(data.expires as string) - Date.parse(res.headers.date),
      delta,
      'should set cookie ' + name + ' to expire in ' + delta + ' ms',
    );
  };
}

function shouldSetCookieToValue(name: string, val: string) {
  return (res: any) => {
    const header = cookie(res);
    const data = (header && utils.parseSetCookie(header)) as utils.SetCookie;
    assert.ok(header, 'should have a cookie header');
    assert.strictEqual(data.name, name, 'should set cookie ' + name);
    assert.strictEqual(data.value, val, 'should set cookie ' + name + ' to ' + val);
  };
}

function shouldSetCookieWithAttribute(name: string, attrib: string) {
  return (res: any) => {
    const header = cookie(res);
    const data = (header && utils.parseSetCookie(header)) as utils.SetCookie;
    assert.ok(header, 'should have a cookie header');
    assert.strictEqual(data.name, name, 'should set cookie ' + name);
    assert.ok(attrib.toLowerCase() in data, 'should set cookie with attribute ' + attrib);
  };
}

function shouldSetCookieWithAttributeAndValue(name: string, attrib: string, value: string) {
  return (res: any) => {
    const header = cookie(res);
    const data = (header && utils.parseSetCookie(header)) as utils.SetCookie;
    assert.ok(header, 'should have a cookie header');
    assert.strictEqual(data.name, name, 'should set cookie ' + name);
    assert.ok(attrib.toLowerCase() in data, 'should set cookie with attribute ' + attrib);
    assert.strictEqual(
      data[attrib.toLowerCase()],
      value,
      'should set cookie with attribute ' + attrib + ' set to ' + value,
    );
  };
}

function shouldSetCookieWithoutAttribute(name: string, attrib: string) {
  return (res: any) => {
    const header = cookie(res);
    const data = (header && utils.parseSetCookie(header)) as utils.SetCookie;
    assert.ok(header, 'should have a cookie header');
    assert.strictEqual(data.name, name, 'should set cookie ' + name);
    assert.ok(!(attrib.toLowerCase() in data), 'should set cookie without attribute ' + attrib);
  };
}

function shouldSetSessionInStore(store: any, delay?: number) {
  const _set = store.set;
  let count = 0;

  store.set = function set(this: unknown, ...args: unknown[]) {
    count++;

    if (!delay) {
      return _set.apply(this, args);
    }

    setTimeout(() => _set.apply(this, args), delay);
  };

  return () => {
    assert.ok(count === 1, 'should set session in store');
  };
}

function sid(res: any): string | undefined {
  const header = cookie(res);
  const data = header && utils.parseSetCookie(header);
  const value = data && unescape(data.value as string);
  // biome-ignore lint/complexity/useOptionalChain: the upstream expression, kept as written
  const sid = value && value.substring(2, value.indexOf('.'));
  return sid || undefined;
}

let tlsDir: string | undefined;

/**
 * The certificate of test/support/gencert.sh (self-signed, CN=express-session.local), made once
 * per run with openssl into a temporary folder: the fixtures folder of the original.
 */
function tlsFixtures(): string {
  if (tlsDir !== undefined) return tlsDir;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'express-session-fixtures-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-nodes',
        '-newkey',
        'rsa:2048',
        '-keyout',
        path.join(dir, 'server.key'),
        '-out',
        path.join(dir, 'server.crt'),
        '-days',
        '3650',
        '-subj',
        '/C=US/ST=Illinois/L=Chicago/O=node-express-session/CN=express-session.local',
      ],
      { stdio: 'pipe' },
    );
  } catch (error) {
    throw new Error(
      'openssl is needed to make the TLS certificate of this test: apt-get install openssl',
      { cause: error },
    );
  }
  tlsDir = dir;
  return dir;
}
