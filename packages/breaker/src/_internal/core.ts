// The protocol between a breaker and a guard. Symbol.for keeps it working across two installed
// copies of the package (a guard from one copy driving a breaker from the other).

/** Ask for admission: returns a ticket, negative when the circuit refuses the call. */
export const kAdmit: unique symbol = Symbol.for('@x/breaker.core.v1.admit') as never;
/** The call succeeded (or failed with an error that is not a failure). */
export const kSuccess: unique symbol = Symbol.for('@x/breaker.core.v1.success') as never;
/** The call failed with an infrastructure error (timeout: `true` when it hit its deadline). */
export const kFailure: unique symbol = Symbol.for('@x/breaker.core.v1.failure') as never;
/** The call was abandoned by its caller (aborted): no verdict, frees a half-open probe slot. */
export const kRelease: unique symbol = Symbol.for('@x/breaker.core.v1.release') as never;
/** A fallback was served instead of the call. */
export const kFallback: unique symbol = Symbol.for('@x/breaker.core.v1.fallback') as never;
/** Latency sample (ms) for the ring buffer. */
export const kSample: unique symbol = Symbol.for('@x/breaker.core.v1.sample') as never;
/** The breaker's failure predicate. */
export const kIsFailure: unique symbol = Symbol.for('@x/breaker.core.v1.isFailure') as never;

/** What a guard needs from a breaker, beyond its public surface. */
export interface BreakerCore {
  [kAdmit](): number;
  [kSuccess](ticket: number, ignoredError: boolean): void;
  [kFailure](ticket: number, error: unknown, timeout: boolean): void;
  [kRelease](ticket: number): void;
  [kFallback](): void;
  [kSample](ms: number): void;
  [kIsFailure](error: unknown): boolean;
}

/** True when `value` speaks the breaker core protocol. */
export function hasCore(value: unknown): value is BreakerCore {
  return (
    typeof value === 'object' && value !== null && typeof (value as never)[kAdmit] === 'function'
  );
}
