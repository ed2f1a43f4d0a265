import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { isLockAcquisitionError } from '@x/lock';
import type { FastifyInstance } from 'fastify';
import type { EventBus } from '../events';
import type { JobLocks } from '../local-locks';
import { LocalLockBusyError } from '../local-locks';

/** Dependencies of the job route. */
export interface JobRoutesDeps {
  locks: JobLocks;
  events: EventBus;
  jobDurationMs: number;
}

const LOCK_KEY = 'jobs:report';

/**
 * `POST /jobs/report`: runs the (simulated) report job under a lock and answers with the lock's
 * fencing token. A second call while the job runs gets a 409 at once (one try, no waiting).
 * Redis down: 503 from the error handler (locks never fall back to memory when Redis is configured).
 */
export function registerJobRoutes(app: FastifyInstance, deps: JobRoutesDeps): void {
  const { locks, events, jobDurationMs } = deps;

  app.post('/jobs/report', async (_request, reply) => {
    const started = performance.now();
    try {
      const fencingToken = await locks.withLock(LOCK_KEY, async (lock) => {
        events.emit('job.started', { job: 'report', fencingToken: lock.fencingToken });
        // Stops early if the lock is lost (its signal aborts): the job must not go on unprotected.
        await sleep(jobDurationMs, undefined, { signal: lock.signal });
        return lock.fencingToken;
      });
      const tookMs = Math.round(performance.now() - started);
      events.emit('job.finished', { job: 'report', fencingToken, tookMs });
      return { job: 'report', status: 'done', fencingToken, lockMode: locks.mode, tookMs };
    } catch (error) {
      if (isLockAcquisitionError(error) || error instanceof LocalLockBusyError) {
        events.emit('job.rejected', { job: 'report', reason: 'already running' });
        return reply.code(409).send({
          error: 'job_already_running',
          message: `The report job is already running (lock "${LOCK_KEY}" is held). Try again when it has finished.`,
          lockMode: locks.mode,
        });
      }
      throw error;
    }
  });
}
