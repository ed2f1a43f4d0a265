// The worker's side of the `credential-rotation` scenario: a credentials provider that reads the
// current password from the file the controller rotates, and a watch that records every failure
// for credentials the worker's packages report (a connection problem of kind `auth`, a failover of
// the hybrid client for it).
import diagnostics_channel from 'node:diagnostics_channel';
import { readFile } from 'node:fs/promises';
import type { CredentialsProvider } from '@x/config';
import { CONNECTION_CHANNELS, type ConnectionProblemMessage } from '@x/connection';
import { isAuthFailure } from './auth-failure';
import type { AuthSummary } from './protocol';

const MAX_EXAMPLES = 5;

/** A watch of the credentials of one worker. */
export interface AuthWatch {
  /** Reads `{ username, password }` from the password file (as a secrets manager's file mount). */
  readonly provider: CredentialsProvider;
  /** Give it every `failover` event of the hybrid client. */
  onFailover(event: { cause: string; problem?: { kind?: string } | null; error?: unknown }): void;
  /** Stops listening; returns what was seen. */
  stop(): AuthSummary;
}

/** Starts watching: every connection problem of every package in this process is looked at. */
export function watchAuth(file: string, username: string): AuthWatch {
  const summary: AuthSummary = {
    providerCalls: 0,
    failures: [],
    failureCount: 0,
    failoverCauses: [],
  };
  const fail = (where: string, what: unknown): void => {
    summary.failureCount += 1;
    if (summary.failures.length < MAX_EXAMPLES) {
      summary.failures.push(`${where}: ${(what as Error)?.message ?? JSON.stringify(what)}`);
    }
  };
  const onProblem = (message: unknown): void => {
    const { connection, problem } = message as ConnectionProblemMessage;
    if (problem !== null && (problem.kind === 'auth' || isAuthFailure(problem.message))) {
      fail(`problem of ${connection}`, problem);
    }
  };
  diagnostics_channel.subscribe(CONNECTION_CHANNELS.problem, onProblem);
  return {
    provider: async () => {
      summary.providerCalls += 1;
      return { username, password: (await readFile(file, 'utf8')).trim() };
    },
    onFailover(event) {
      summary.failoverCauses.push(event.cause);
      if (event.cause === 'misconfigured' || event.problem?.kind === 'auth') {
        fail('hybrid failover', event.problem ?? event.error);
      }
    },
    stop() {
      diagnostics_channel.unsubscribe(CONNECTION_CHANNELS.problem, onProblem);
      return summary;
    },
  };
}
