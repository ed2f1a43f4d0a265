import type { Connection } from '@x/connection';
import type { HeldLock } from './lock.js';
import { WaiterQueues } from './waiters.js';

/**
 * Per key with acquirers in this process: how many, how many local releases so far, and how many
 * of their tries are in flight.
 */
export interface Contention {
  acquirers: number;
  releases: number;
  trying: number;
}

/**
 * What the managers of this process that use the same servers and key prefix (a scope) share:
 * the locks held here and the local waiters, per lock key. A lock released or lost by any of them
 * wakes the next local waiter at once; a timed retry of a key held here skips the round trip.
 */
export class Registry {
  /** Identifies the servers and prefix. */
  readonly scope: string;
  /** Per key: the lock this process holds (if any). */
  readonly held = new Map<string, HeldLock>();
  /** Per key with acquirers waiting here: how many, and the local releases seen. */
  readonly contention = new Map<string, Contention>();
  readonly waiters: WaiterQueues;
  /** Managers using it; dropped with the last one. */
  managers = 0;

  constructor(scope: string) {
    this.scope = scope;
    this.waiters = new WaiterQueues((slot) => this.busyFor(slot));
  }

  /** Milliseconds left to the lock held in this process on `slot`, or -1 when there is none. */
  heldFor(slot: string): number {
    const lock = this.held.get(slot);
    return lock === undefined ? -1 : Math.max(lock.deadline - performance.now(), 0);
  }

  /**
   * How long a try of `slot` is sure to fail, as far as this process knows: the time left to the
   * lock it holds; `Infinity` while one of its tries is in flight (a hand-over: the lock is being
   * granted here, and the next local release will wake the next waiter); -1 otherwise.
   */
  busyFor(slot: string): number {
    const lock = this.held.get(slot);
    if (lock !== undefined) return Math.max(lock.deadline - performance.now(), 0);
    return (this.contention.get(slot)?.trying ?? 0) > 0 ? Number.POSITIVE_INFINITY : -1;
  }

  /** Whether this process holds `slot` right now. */
  holds(slot: string): boolean {
    return this.held.get(slot)?.held === true;
  }

  /** Registers an acquirer of `slot`; returns its counters (see {@link Registry.leave}). */
  enter(slot: string): Contention {
    let contention = this.contention.get(slot);
    if (contention === undefined) {
      contention = { acquirers: 0, releases: 0, trying: 0 };
      this.contention.set(slot, contention);
    }
    contention.acquirers++;
    return contention;
  }

  /** An acquirer of `slot` is done. */
  leave(slot: string, contention: Contention): void {
    if (--contention.acquirers === 0 && this.contention.get(slot) === contention) {
      this.contention.delete(slot);
    }
  }

  /** A lock of this process on its key ended (released or lost): the next local waiter goes. */
  ended(lock: HeldLock): void {
    const slot = lock.key;
    if (this.held.get(slot) === lock) this.held.delete(slot);
    const contention = this.contention.get(slot);
    if (contention !== undefined) contention.releases++;
    this.waiters.wakeOne(slot);
  }
}

// Process-wide, so that every manager of this process on the same servers and prefix hands a
// released lock straight to the next local waiter.
const REGISTRIES = new Map<string, Registry>();
const clientIds = new WeakMap<object, number>();
let nextClientId = 0;

/** The registry of `scope`, created by the first manager that joins it. */
export function joinRegistry(scope: string): Registry {
  let registry = REGISTRIES.get(scope);
  if (registry === undefined) {
    registry = new Registry(scope);
    REGISTRIES.set(scope, registry);
  }
  registry.managers++;
  return registry;
}

/** A manager of `registry`'s scope closed; the registry goes with the last one. */
export function leaveRegistry(registry: Registry): void {
  if (--registry.managers === 0 && REGISTRIES.get(registry.scope) === registry) {
    REGISTRIES.delete(registry.scope);
  }
}

/** The scope of a manager: its servers (host:port/db, else the client itself) and key prefix. */
export function scopeOf(connections: readonly Connection[], keyPrefix: string): string {
  return `${connections.map((c) => serverId(c)).join(',')}|${keyPrefix}`;
}

function serverId(connection: Connection): string {
  const client = connection.client;
  const o = (
    client as {
      options?: { host?: string; port?: number; db?: number; path?: string; sentinels?: unknown };
    }
  ).options;
  if (!connection.isCluster && o !== undefined && !o.sentinels) {
    return `${o.path ?? `${o.host}:${o.port}`}/${o.db ?? 0}`;
  }
  let id = clientIds.get(client);
  if (id === undefined) {
    id = ++nextClientId;
    clientIds.set(client, id);
  }
  return `#${id}`;
}
