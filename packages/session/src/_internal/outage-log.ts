import type { Connection, Log, UnusableEvent, UsableEvent } from '@x/connection';

/**
 * Logs when the store's Redis becomes unusable (warn, once per outage; a misconfiguration is
 * logged by the connection itself, once, at error level) and usable again (info), with stable
 * `reason` fields: `'redis_unusable'`, `'redis_usable'`. Returns what stops it.
 */
export function logOutages(
  connection: Connection,
  log: Log,
  fallback: 'none' | 'memory',
  pendingReconcile: () => number,
): () => void {
  const onUnusable = (event: UnusableEvent): void => {
    const problem = event.problem;
    if (problem?.misconfiguration) return;
    log(
      'warn',
      `[@x/session] Redis unusable (${event.reason}${problem === null ? '' : `, ${problem.kind}: ${problem.message}`}): ${
        fallback === 'memory'
          ? 'sessions are served from memory, and replayed into Redis once it is back'
          : 'session calls fail closed with SessionUnavailableError until it is back'
      }`,
      { reason: 'redis_unusable', cause: event.reason, kind: problem?.kind ?? null },
    );
  };
  const onUsable = (event: UsableEvent): void => {
    if (event.reason !== 'recovered') return;
    log('info', `[@x/session] Redis usable again after ${event.outageMs} ms`, {
      reason: 'redis_usable',
      outageMs: event.outageMs,
      pendingReconcile: pendingReconcile(),
    });
  };
  connection.on('unusable', onUnusable);
  connection.on('usable', onUsable);
  return () => {
    connection.off('unusable', onUnusable);
    connection.off('usable', onUsable);
  };
}
