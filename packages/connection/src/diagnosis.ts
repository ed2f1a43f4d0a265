import {
  type DiagnoseContext,
  diagnoseRedisError,
  MISCONFIGURATIONS,
  type ProblemKind,
  type RedisDiagnosis,
} from '@x/breaker';

export type { DiagnoseContext, ProblemKind };
export { MISCONFIGURATIONS };

/** A problem before it is dated: what {@link diagnose} returns (`RedisDiagnosis` of `@x/breaker`). */
export type Finding = RedisDiagnosis;

/** The current problem of a connection: what is wrong, in the server's words, and what to do. */
export interface Problem extends RedisDiagnosis {
  /** Epoch ms when this problem was first seen (kept while the same problem repeats). */
  readonly since: number;
}

/**
 * What an error says about the deployment (`diagnoseRedisError` of `@x/breaker`, the one table of
 * Redis failures and what to do about each), or `undefined` when it says nothing new.
 */
export function diagnose(error: unknown, ctx: DiagnoseContext = {}): Finding | undefined {
  return diagnoseRedisError(error, ctx);
}

/** A problem for "no answer within `ms`" when no error said more. */
export function noAnswer(ms: number, ctx: DiagnoseContext = {}): Finding {
  const found = diagnoseRedisError(
    { code: 'ETIMEDOUT', message: `no answer within ${ms} ms` },
    {
      ...ctx,
      timeoutMs: ms,
    },
  );
  return found!;
}

/** Dates a finding (keeps `since` when `previous` is the same problem). */
export function toProblem(
  found: Finding,
  previous: Problem | undefined,
  now = Date.now(),
): Problem {
  if (
    previous !== undefined &&
    previous.kind === found.kind &&
    previous.message === found.message
  ) {
    return previous;
  }
  return { ...found, since: now };
}

/**
 * A one-line description of a problem for logs and error messages: kind, the server's words and
 * the hint.
 */
export function describeProblem(problem: Pick<Problem, 'kind' | 'message' | 'hint'>): string {
  return `${problem.kind}: ${problem.message} (${problem.hint})`;
}
