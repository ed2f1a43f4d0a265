/**
 * How an instrument is reported:
 * - `counter`: a monotonic sum (OTel ObservableCounter, Prometheus `counter`), read from a
 *   `stats()` counter at collection time; the counts of closed instances are kept, so it never
 *   goes down;
 * - `updowncounter`: a sum that goes up and down (OTel ObservableUpDownCounter, Prometheus
 *   `gauge`), e.g. how many connections are in each state;
 * - `gauge`: a current value (OTel ObservableGauge);
 * - `histogram`: recorded when something happens (a traced call, a lock acquisition).
 */
export type InstrumentKind = 'counter' | 'updowncounter' | 'gauge' | 'histogram';

/** One instrument `@x/otel` records. */
export interface InstrumentSpec {
  readonly name: string;
  readonly kind: InstrumentKind;
  /** UCUM unit: `s`, `By`, or an annotation such as `{call}`. */
  readonly unit: string;
  readonly description: string;
  /** Attributes beyond `x.package`, `x.name` and (for the `redis` block) `x.connection`. */
  readonly attributes: readonly string[];
  /** Where the value comes from (shown in the README). */
  readonly source: string;
}

function spec(
  name: string,
  kind: InstrumentKind,
  unit: string,
  description: string,
  source: string,
  attributes: readonly string[] = [],
): InstrumentSpec {
  return { name, kind, unit, description, source, attributes };
}

const REDIS = '`stats().redis` (every package)';
const HYBRID = '`stats()` of `@x/hybrid-client`';
const RATELIMIT = '`stats()` of `@x/ratelimit`';
const LOCK = '`stats()` of `@x/lock`';
const PUBSUB = '`stats()` of `@x/pubsub`';
const SESSION = '`stats()` of `@x/session`';

/**
 * Every instrument `@x/otel` records, by name: the metrics read from `stats()` at collection time,
 * and the two histograms recorded from the diagnostics channels.
 */
export const INSTRUMENTS = {
  // ---- every instance
  instances: spec(
    'x.instances',
    'updowncounter',
    '{instance}',
    'Instances of x packages open now (announced on x:instances).',
    '`x:instances`',
  ),
  // ---- the redis block of every package (RedisStats of @x/connection)
  redisCalls: spec('x.redis.calls', 'counter', '{call}', 'Guarded Redis calls made.', REDIS),
  redisFailures: spec(
    'x.redis.failures',
    'counter',
    '{call}',
    'Calls that failed with an infrastructure error (timeouts not included).',
    REDIS,
  ),
  redisTimeouts: spec(
    'x.redis.timeouts',
    'counter',
    '{call}',
    'Calls that hit their deadline (timeoutMs).',
    REDIS,
  ),
  redisRejects: spec(
    'x.redis.rejects',
    'counter',
    '{call}',
    'Calls refused by the open circuit without reaching Redis.',
    REDIS,
  ),
  redisFallbacks: spec(
    'x.redis.fallbacks',
    'counter',
    '{call}',
    "Fallbacks the connection's guard served instead of a Redis answer.",
    REDIS,
  ),
  redisOutages: spec(
    'x.redis.outages',
    'counter',
    '{outage}',
    'Times Redis became unusable (refused, frozen, breaker open, misconfigured).',
    REDIS,
  ),
  redisUnusableTime: spec(
    'x.redis.unusable.time',
    'counter',
    's',
    'Time Redis was unusable, the current outage included.',
    REDIS,
  ),
  redisState: spec(
    'x.redis.state',
    'updowncounter',
    '{connection}',
    'Connections in each state (connecting, ready, unusable, closed): one series per state.',
    REDIS,
    ['x.state'],
  ),
  breakerState: spec(
    'x.breaker.state',
    'updowncounter',
    '{connection}',
    'Connections whose breaker is in each state (closed, open, half-open, isolated): one series per state.',
    REDIS,
    ['x.state'],
  ),
  redisProblem: spec(
    'x.redis.problem',
    'gauge',
    '{connection}',
    "Connections with a current problem of this kind (1 while it lasts, 0 once it cleared): the connection's diagnosis.",
    REDIS,
    ['x.problem.kind'],
  ),
  // ---- served without Redis (several packages)
  fallbackServed: spec(
    'x.fallback.served',
    'counter',
    '{call}',
    'Calls served without Redis: hybrid-client memory serves, rate-limit decisions of the local/open/closed fallback, session memory serves, pub/sub local deliveries.',
    `${HYBRID} \`memory.calls\`; ${RATELIMIT} \`decisions\` of local/open/closed; ${SESSION} \`servedFromMemory\`; ${PUBSUB} \`deliveredLocally\``,
    ['x.source'],
  ),
  // ---- @x/hybrid-client
  hybridBackend: spec(
    'x.hybrid.backend',
    'updowncounter',
    '{client}',
    'Hybrid clients serving from each backend (primary = Redis, fallback = memory).',
    `${HYBRID} \`activeBackend\``,
    ['x.state'],
  ),
  hybridFailovers: spec(
    'x.hybrid.failovers',
    'counter',
    '{failover}',
    'Times a hybrid client switched to memory.',
    `${HYBRID} \`failovers\``,
  ),
  hybridRecoveries: spec(
    'x.hybrid.recoveries',
    'counter',
    '{recovery}',
    'Times a hybrid client switched back to Redis.',
    `${HYBRID} \`recoveries\``,
  ),
  hybridFallbackTime: spec(
    'x.hybrid.fallback.time',
    'counter',
    's',
    'Time hybrid clients served from memory because of outages.',
    `${HYBRID} \`fallbackMs\``,
  ),
  hybridJournalSize: spec(
    'x.hybrid.journal.size',
    'updowncounter',
    '{key}',
    'Keys written to memory during an outage, waiting for the recovery policy.',
    `${HYBRID} \`journal.size\``,
  ),
  hybridJournalDropped: spec(
    'x.hybrid.journal.dropped',
    'counter',
    '{key}',
    'Journal entries dropped because the journal was full.',
    `${HYBRID} \`journal.dropped\``,
  ),
  localHits: spec(
    'x.cache.local.hits',
    'counter',
    '{hit}',
    "Reads the in-process store answered (the hybrid client's memory).",
    `${HYBRID} \`local.hits\``,
  ),
  localMisses: spec(
    'x.cache.local.misses',
    'counter',
    '{miss}',
    'Reads the in-process store did not hold.',
    `${HYBRID} \`local.misses\``,
  ),
  localEvictions: spec(
    'x.cache.local.evictions',
    'counter',
    '{entry}',
    'Entries the in-process store evicted to stay within its bounds.',
    `${HYBRID} \`local.evictions\``,
  ),
  localEntries: spec(
    'x.cache.local.entries',
    'updowncounter',
    '{entry}',
    'Entries the in-process store holds.',
    `${HYBRID} \`local.itemCount\``,
  ),
  localSize: spec(
    'x.cache.local.size',
    'updowncounter',
    'By',
    'Bytes the in-process store holds.',
    `${HYBRID} \`local.calculatedSize\``,
  ),
  nearHits: spec(
    'x.cache.near.hits',
    'counter',
    '{hit}',
    'Reads served by the near cache (a copy Redis tracks for this client).',
    `${HYBRID} \`near.hits\``,
  ),
  nearMisses: spec(
    'x.cache.near.misses',
    'counter',
    '{miss}',
    'Reads the near cache could not serve.',
    `${HYBRID} \`near.misses\``,
  ),
  nearInvalidations: spec(
    'x.cache.near.invalidations',
    'counter',
    '{invalidation}',
    'Near-cache copies dropped because Redis said the key changed.',
    `${HYBRID} \`near.invalidations\``,
  ),
  nearStale: spec(
    'x.cache.near.stale',
    'counter',
    '{call}',
    'Reads served stale from the near cache while Redis was unusable (fail-safe).',
    `${HYBRID} \`near.stale\` (or \`near.staleServes\`)`,
  ),
  nearEntries: spec(
    'x.cache.near.entries',
    'updowncounter',
    '{entry}',
    'Tracked copies the near cache holds.',
    `${HYBRID} \`near.entries\``,
  ),
  nearSize: spec(
    'x.cache.near.size',
    'updowncounter',
    'By',
    'Bytes of the tracked copies the near cache holds.',
    `${HYBRID} \`near.bytes\``,
  ),
  // ---- @x/ratelimit
  ratelimitDecisions: spec(
    'x.ratelimit.decisions',
    'counter',
    '{decision}',
    '`consume` decisions by source (redis, local, open, closed) and outcome (allowed, refused).',
    `${RATELIMIT} \`decisions\``,
    ['x.source', 'x.outcome'],
  ),
  ratelimitSource: spec(
    'x.ratelimit.source',
    'updowncounter',
    '{limiter}',
    'Limiters deciding from each source now (redis, local, open, closed).',
    `${RATELIMIT} \`source\``,
    ['x.source'],
  ),
  ratelimitSourceChanges: spec(
    'x.ratelimit.source.changes',
    'counter',
    '{change}',
    'Times decisions changed source (to a fallback and back).',
    `${RATELIMIT} \`sourceChanges\``,
  ),
  ratelimitPeeks: spec(
    'x.ratelimit.peeks',
    'counter',
    '{call}',
    '`peek` calls answered.',
    `${RATELIMIT} \`peeks\``,
  ),
  ratelimitResets: spec(
    'x.ratelimit.resets',
    'counter',
    '{call}',
    '`reset` calls, by outcome (done: reached Redis; unavailable: Redis could not be used).',
    `${RATELIMIT} \`resets\`, \`resetFailures\``,
    ['x.outcome'],
  ),
  ratelimitLocalKeys: spec(
    'x.ratelimit.local.keys',
    'updowncounter',
    '{key}',
    'Keys the local fallback limiter holds.',
    `${RATELIMIT} \`localKeys\``,
  ),
  // ---- @x/lock
  lockAcquired: spec(
    'x.lock.acquired',
    'counter',
    '{lock}',
    'Locks granted (acquire, tryAcquire, withLock).',
    `${LOCK} \`acquired\``,
  ),
  lockContended: spec(
    'x.lock.contended',
    'counter',
    '{call}',
    'Acquisitions that found the lock held (they waited, or tryAcquire gave undefined).',
    `${LOCK} \`contended\``,
  ),
  lockTimedOut: spec(
    'x.lock.timed_out',
    'counter',
    '{call}',
    'acquire calls that gave up after every attempt (LockAcquisitionError).',
    `${LOCK} \`timedOut\``,
  ),
  lockUnavailable: spec(
    'x.lock.unavailable',
    'counter',
    '{call}',
    'Acquisitions that failed because Redis could not be used (LockUnavailableError).',
    `${LOCK} \`unavailable\``,
  ),
  lockAborted: spec(
    'x.lock.aborted',
    'counter',
    '{call}',
    'acquire calls ended by their signal.',
    `${LOCK} \`aborted\``,
  ),
  lockReleased: spec(
    'x.lock.released',
    'counter',
    '{lock}',
    'Locks released by their holder.',
    `${LOCK} \`released\``,
  ),
  lockExtended: spec(
    'x.lock.extended',
    'counter',
    '{extension}',
    'Successful extensions (extend() and withLock).',
    `${LOCK} \`extended\``,
  ),
  lockLost: spec(
    'x.lock.lost',
    'counter',
    '{lock}',
    'Locks lost while held (expired, taken by another owner, maxHoldMs).',
    `${LOCK} \`lost\``,
  ),
  lockHeld: spec('x.lock.held', 'updowncounter', '{lock}', 'Locks held now.', `${LOCK} \`held\``),
  lockWaiting: spec(
    'x.lock.waiting',
    'updowncounter',
    '{call}',
    'acquire calls waiting for a held lock now.',
    `${LOCK} \`waiting\``,
  ),
  lockWaitDuration: spec(
    'x.lock.wait.duration',
    'histogram',
    's',
    'From the call to the answer of each acquisition (the wait for a contended lock included), by outcome (acquired, contended, unavailable).',
    '`x:lock:acquire` events',
    ['x.outcome'],
  ),
  // ---- @x/pubsub
  pubsubPublished: spec(
    'x.pubsub.published',
    'counter',
    '{message}',
    'Messages Redis accepted.',
    `${PUBSUB} \`published\``,
  ),
  pubsubPublishErrors: spec(
    'x.pubsub.publish.errors',
    'counter',
    '{message}',
    'Publishes rejected (codec, Redis down, deadline, open circuit, error reply).',
    `${PUBSUB} \`publishErrors\``,
  ),
  pubsubReceived: spec(
    'x.pubsub.received',
    'counter',
    '{message}',
    'Messages received from Redis.',
    `${PUBSUB} \`received\``,
  ),
  pubsubDelivered: spec(
    'x.pubsub.delivered',
    'counter',
    '{message}',
    'Messages handed to subscriptions.',
    `${PUBSUB} \`delivered\``,
  ),
  pubsubDropped: spec(
    'x.pubsub.dropped',
    'counter',
    '{message}',
    'Messages the overflow policies discarded.',
    `${PUBSUB} \`dropped\``,
  ),
  pubsubMalformed: spec(
    'x.pubsub.malformed',
    'counter',
    '{message}',
    'Received payloads the codec rejected.',
    `${PUBSUB} \`malformed\``,
  ),
  pubsubGaps: spec(
    'x.pubsub.gaps',
    'counter',
    '{gap}',
    'Times the subscriber connection came back after a loss (messages may have been missed).',
    `${PUBSUB} \`gaps\``,
  ),
  pubsubDisconnects: spec(
    'x.pubsub.disconnects',
    'counter',
    '{disconnect}',
    'Times the subscriber connection was found lost.',
    `${PUBSUB} \`disconnects\``,
  ),
  pubsubReadyFailures: spec(
    'x.pubsub.ready.failures',
    'counter',
    '{subscription}',
    'Subscriptions whose ready rejected (Redis did not confirm in time, or misconfigured).',
    `${PUBSUB} \`readyFailures\``,
  ),
  pubsubSubscriptions: spec(
    'x.pubsub.subscriptions',
    'updowncounter',
    '{subscription}',
    'Subscriptions open now.',
    `${PUBSUB} \`subscriptions\``,
  ),
  pubsubChannels: spec(
    'x.pubsub.channels',
    'updowncounter',
    '{channel}',
    'Channels and patterns subscribed on Redis now (x.state = channel or pattern).',
    `${PUBSUB} \`channels\`, \`patterns\``,
    ['x.state'],
  ),
  pubsubConnected: spec(
    'x.pubsub.connected',
    'updowncounter',
    '{connection}',
    'Subscriber connections up with nothing lost (1 each).',
    `${PUBSUB} \`connected\``,
  ),
  // ---- @x/session
  sessionOperations: spec(
    'x.session.operations',
    'counter',
    '{operation}',
    'Store operations done, by operation (create, get, update, touch, destroy: sessions removed, rotate).',
    `${SESSION} \`created\`, \`read\`, \`updated\`, \`touched\`, \`destroyed\`, \`rotated\``,
    ['x.operation'],
  ),
  sessionFailClosed: spec(
    'x.session.fail_closed',
    'counter',
    '{call}',
    'Calls that failed closed with SessionUnavailableError (Redis unusable, no memory fallback).',
    `${SESSION} \`failedClosed\``,
  ),
  sessionReconcilePending: spec(
    'x.session.reconcile.pending',
    'updowncounter',
    '{change}',
    'Changes made in memory during an outage, waiting to be replayed into Redis.',
    `${SESSION} \`pendingReconcile\``,
  ),
  sessionReconciled: spec(
    'x.session.reconcile.done',
    'counter',
    '{change}',
    'Changes replayed into Redis after an outage, by outcome (replayed, skipped, dropped).',
    `${SESSION} \`reconciled\`, \`reconcileSkipped\`, \`reconcileDropped\``,
    ['x.outcome'],
  ),
  // ---- traced calls (x:connection:call)
  operationDuration: spec(
    'db.client.operation.duration',
    'histogram',
    's',
    'Duration of each traced call of a package (a logical operation: acquire, consume, get...), semantic conventions for database clients.',
    '`x:connection:call` TracingChannel',
    ['db.system.name', 'db.operation.name', 'x.outcome', 'error.type'],
  ),
} as const satisfies Record<string, InstrumentSpec>;

/** The key of an instrument in {@link INSTRUMENTS}. */
export type InstrumentKey = keyof typeof INSTRUMENTS;

/**
 * Bucket boundaries of `db.client.operation.duration`, in seconds: the ones the semantic
 * conventions recommend for it.
 */
export const OPERATION_DURATION_BUCKETS: readonly number[] = [
  0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10,
];

/** Bucket boundaries of `x.lock.wait.duration`, in seconds (a contended lock may wait long). */
export const LOCK_WAIT_BUCKETS: readonly number[] = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];
