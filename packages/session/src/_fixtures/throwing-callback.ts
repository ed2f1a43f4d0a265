// Run by express-store.test.ts in a child process: callbacks that throw (a failed assertion in a
// test, a bug in an app) must surface as uncaught exceptions of their own tick, never as
// unhandled rejections (which mocha reports as a timeout, and Node may turn into a crash).
import { Redis } from 'ioredis';
import { createExpressSessionStore } from '../express-store.js';
import { createSessionStore } from '../session-store.js';

const expected = ['get', 'set', 'all'];
const seen: string[] = [];
process.on('unhandledRejection', (reason) => {
  console.log(`unhandledRejection: ${(reason as Error).message}`);
  process.exit(1);
});
process.on('uncaughtException', (error) => {
  console.log(`uncaughtException: ${error.message}`);
  seen.push(error.message);
  if (seen.length === expected.length) {
    redis.disconnect();
    process.exit(0);
  }
});

const redis = new Redis(process.env.REDIS_URL as string);
const store = createExpressSessionStore({
  store: createSessionStore({ redis, keyPrefix: 'fixture:' }),
});
const cookie = { expires: new Date(Date.now() + 60_000).toISOString() };
store.get('a', () => {
  throw new Error('assertion in get callback');
});
store.set('b', { cookie }, () => {
  throw new Error('assertion in set callback');
});
store.all(() => {
  throw new Error('assertion in all callback');
});
setTimeout(() => {
  console.log(`timeout: saw ${seen.join(', ')}`);
  process.exit(2);
}, 10_000).unref();
