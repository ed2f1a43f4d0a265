import { probeProtocol } from './_internal/protocol-probe.js';
import type { Target } from './_internal/target.js';
import type { ConnectionState } from './channels.js';
import { diagnose, type Finding, noAnswer, type Problem, toProblem } from './diagnosis.js';
import type { Log } from './logger.js';

/** What the tracker needs from its connection. */
export interface ProblemHost {
  /** The connection's name, for log lines. */
  readonly name: string;
  readonly log: Log;
  /** Where the client points. */
  readonly target: Target;
  readonly timeoutMs: number;
  readonly isCluster: boolean;
  /** The outage watch's verdict now. */
  state(): ConnectionState;
  /** A setup error of the connection: Redis is not usable with it, even when the link is up. */
  markUnusable(reason: string): void;
  /** A misconfiguration was found (the `ready()` waiters reject at once). */
  misconfigured(problem: Problem): void;
  /** The problem changed (`null`: cleared). */
  changed(problem: Problem | null): void;
}

// A call-level problem (not a broken connection) is the current one for this long.
const CALL_PROBLEM_MS = 60_000;
// At most one protocol probe (does the server speak TLS?) per this long.
const PROTOCOL_PROBE_EVERY_MS = 30_000;

/**
 * The diagnosis of a connection: the current problem, what it came from, and when it clears.
 *
 * - An error of the client itself (a connection attempt, the handshake) sets the problem; a
 *   misconfiguration among them is logged once at error level, rejects the `ready()` waiters at
 *   once, and makes Redis unusable even when ioredis goes on to say `ready` (a db index out of
 *   range falls back to db 0).
 * - A failed call while Redis is usable is not the connection's problem (one slow call), unless it
 *   is a misconfiguration (a missing ACL permission): that one is kept for a minute and logged.
 * - A misconfiguration stays the diagnosis until Redis is usable again: the resets and refusals
 *   that follow it are its consequences.
 * - A reset right after connecting (plain client) or a TLS handshake that never completes also
 *   happen when only one side speaks TLS: the server is asked which it speaks.
 */
export class ProblemTracker {
  readonly #host: ProblemHost;
  #problem: Problem | null = null;
  // When the current problem was found on a call while the connection was ready (it then expires).
  #fromCallAt = 0;
  // A misconfiguration seen during the current connection's handshake (db out of range...).
  #handshake: Finding | undefined;
  // The last problem a call showed while the connection was ready (used if the breaker opens).
  #lastCall: Finding | undefined;
  #logged = new Set<string>();
  #protocolProbeAt = Number.NEGATIVE_INFINITY;

  constructor(host: ProblemHost) {
    this.#host = host;
  }

  /** The current problem, `null` when there is none (a call-level one expires after a minute). */
  current(): Problem | null {
    const problem = this.#problem;
    if (
      problem !== null &&
      this.#fromCallAt !== 0 &&
      Date.now() - this.#fromCallAt > CALL_PROBLEM_MS
    ) {
      this.clear();
      return null;
    }
    return problem;
  }

  /** A misconfiguration of this connection's handshake, if one was seen since it connected. */
  get handshake(): Finding | undefined {
    return this.#handshake;
  }

  /** A new connection began: its handshake has shown nothing yet. */
  onConnect(): void {
    this.#handshake = undefined;
  }

  /** A setup error the connection found itself (the server's mode): kept like a handshake one. */
  onHandshakeFinding(found: Finding): void {
    this.#handshake = found;
    this.set(found, false);
  }

  /** An error event of the client or of one of its duplicates. */
  onClientError(error: unknown): void {
    const found = diagnose(error, this.#host.target);
    if (found === undefined) return;
    if (found.misconfiguration) this.#handshake = found;
    this.set(found, false);
    if (!found.misconfiguration) this.#maybeProbeProtocol(found);
  }

  /**
   * The client's connection closed. While Redis is unusable that is a reconnection the server
   * dropped, which may be a TLS port reached in plain text: ioredis 6 reports no error for it (5
   * reports `ECONNRESET`), so the closing itself asks for the protocol probe.
   */
  onLinkClosed(): void {
    const state = this.#host.state();
    if (state === 'ready' || state === 'closed') return;
    const problem = this.#problem;
    if (problem !== null && (problem.misconfiguration || problem.kind !== 'refused')) return;
    if (problem !== null && /ECONNREFUSED|ENOTFOUND|EAI_AGAIN/.test(problem.message)) return;
    // A plain-text client only: a TLS client's failed handshake is an error, seen above.
    if (this.#host.target.tls !== true) this.#probeProtocol();
  }

  /** A call failed (or an error seen outside the guard was reported). */
  onCallFailure(error: unknown): void {
    const found = diagnose(error, this.#host.target);
    if (found === undefined) return;
    const ready = this.#host.state() === 'ready';
    if (ready && !found.misconfiguration) {
      this.#lastCall = found;
      return;
    }
    this.set(found, ready);
  }

  /** Redis became unusable: when nothing said why yet, what caused it (or what the calls showed). */
  onUnusable(reason: string, error: unknown): void {
    if (this.#problem !== null) return;
    const found =
      (error === undefined ? undefined : diagnose(error, this.#host.target)) ??
      this.#lastCall ??
      (reason === 'connection_lost' ? this.#linkClosed() : undefined);
    if (found !== undefined) this.set(found, false);
  }

  /** Redis is usable: no problem left. */
  onReady(): void {
    this.#lastCall = undefined;
    this.clear();
  }

  /** `ready()` waited `ms` and nothing said more than silence: that is the problem. */
  silence(ms: number): Problem {
    if (this.#problem === null) this.set(noAnswer(ms, this.#host.target), false);
    return this.#problem ?? { ...noAnswer(ms, this.#host.target), since: Date.now() };
  }

  /** Sets the problem (`fromCall`: found on a call while Redis was usable). */
  set(found: Finding, fromCall: boolean): void {
    const previous = this.#problem ?? undefined;
    if (previous?.misconfiguration && this.#fromCallAt === 0 && !found.misconfiguration) return;
    const problem = toProblem(found, previous);
    this.#fromCallAt = fromCall ? Date.now() : 0;
    if (problem === previous) return;
    this.#problem = problem;
    this.#host.changed(problem);
    if (!problem.misconfiguration) return;
    const key = `${problem.kind}\n${problem.message}`;
    if (!this.#logged.has(key)) {
      this.#logged.add(key);
      this.#host.log(
        'error',
        `[${this.#host.name}] Redis is misconfigured (${problem.kind}): ${problem.message}. To fix: ${problem.hint}`,
        {
          reason: 'misconfigured',
          kind: problem.kind,
          message: problem.message,
          hint: problem.hint,
          address: this.#host.target.address,
        },
      );
    }
    this.#host.misconfigured(problem);
    if (!fromCall && this.#host.state() !== 'closed') this.#host.markUnusable('misconfigured');
  }

  /** Clears the problem. */
  clear(): void {
    if (this.#problem === null) return;
    this.#problem = null;
    this.#fromCallAt = 0;
    this.#logged.clear();
    this.#host.changed(null);
  }

  /** What is known when the link closed without an error: the reconnection attempts say more. */
  #linkClosed(): Finding {
    const address = this.#host.target.address;
    return {
      kind: 'refused',
      message: `the connection${address === undefined ? '' : ` to ${address}`} was closed`,
      hint: 'the server restarted, was killed, or closed the connection (CLIENT KILL, timeout, maxclients): reconnecting',
      misconfiguration: false,
    };
  }

  /** Probes the protocol after an error that a TLS mismatch would also cause. */
  #maybeProbeProtocol(found: Finding): void {
    const { tls } = this.#host.target;
    const suspicious =
      (found.kind === 'refused' && !tls && /ECONNRESET|EPIPE/.test(found.message)) ||
      (found.kind === 'timeout' && tls === true);
    if (suspicious) this.#probeProtocol();
  }

  /** Finds out (at most every few seconds) what the server speaks, and says so on a mismatch. */
  #probeProtocol(): void {
    const host = this.#host;
    const { target } = host;
    // Only while Redis is not usable (also after it once was: the server may have been switched
    // to TLS, or off it, behind the same address).
    if (host.isCluster || target.host === undefined || target.port === undefined) return;
    const state = host.state();
    if (state === 'ready' || state === 'closed') return;
    const t = performance.now();
    if (t - this.#protocolProbeAt < PROTOCOL_PROBE_EVERY_MS) return;
    this.#protocolProbeAt = t;
    const clientTls = target.tls === true;
    void probeProtocol(target.host, target.port, clientTls, host.timeoutMs).then((spoken) => {
      const now = host.state();
      if (now === 'ready' || now === 'closed') return;
      if (!clientTls && spoken === 'tls') {
        this.set(
          {
            kind: 'tls',
            message: `the server at ${target.address} speaks TLS and closed the plain-text connection`,
            hint: 'use a rediss:// URL (or REDIS_TLS=true) to connect with TLS',
            misconfiguration: true,
          },
          false,
        );
      } else if (clientTls && spoken === 'plain') {
        this.set(
          {
            kind: 'tls',
            message: `the server at ${target.address} does not speak TLS (it answered in plain text)`,
            hint: 'use redis:// instead of rediss:// (or turn REDIS_TLS off), or connect to the TLS port of the server',
            misconfiguration: true,
          },
          false,
        );
      }
    });
  }
}
