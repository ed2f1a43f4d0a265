import type { BatchObservableResult, Meter, Observable } from '@opentelemetry/api';
import type { Api } from './_internal/api.js';
import { ATTRIBUTES, type Attributes } from './attributes.js';
import { Instances, type Observed } from './instances.js';
import { INSTRUMENTS, type InstrumentKey } from './instruments.js';
import { REDIS_ROWS, redisBlocks } from './packages/redis.js';
import type { Row } from './packages/table.js';
import { TABLES } from './packages/tables.js';

/** Series (instrument + attributes) remembered at most: closed instances' counts, states seen. */
export const MAX_SERIES = 10_000;

/** One series and its value in a collection. */
interface Point {
  instrument: InstrumentKey;
  attributes: Attributes;
  value: number;
}

type Points = Map<string, Point>;

const OBSERVED = (Object.keys(INSTRUMENTS) as InstrumentKey[]).filter(
  (key) => INSTRUMENTS[key].kind !== 'histogram',
);

/**
 * The metrics read from `stats()`: one observable instrument per entry of {@link INSTRUMENTS}
 * (histograms aside), and one batch callback that, at each collection, reads the `stats()` of
 * every open instance through the package tables. Nothing runs on the hot path.
 *
 * - Instances with the same attributes are summed (two rate limiters of one service are one
 *   series), since an observable instrument keeps only the last value observed per series.
 * - A counter never goes down: when an instance closes, its last counts are kept and added to
 *   every later collection.
 * - A series of a state, a problem or a gauge that is no longer observed (the state changed, the
 *   problem cleared, the instance closed) reads 0, instead of keeping its last value.
 */
export class StatsMetrics {
  readonly #meter: Meter;
  readonly #observables = new Map<InstrumentKey, Observable>();
  readonly #instances: Instances;
  readonly #retired: Points = new Map();
  readonly #seen: Points = new Map();
  #closed = false;

  constructor(api: Api, meter: Meter) {
    this.#meter = meter;
    for (const key of OBSERVED) {
      const spec = INSTRUMENTS[key];
      const options = {
        description: spec.description,
        unit: spec.unit,
        valueType: spec.unit === 's' ? api.ValueType.DOUBLE : api.ValueType.INT,
      };
      const observable =
        spec.kind === 'counter'
          ? meter.createObservableCounter(spec.name, options)
          : spec.kind === 'updowncounter'
            ? meter.createObservableUpDownCounter(spec.name, options)
            : meter.createObservableGauge(spec.name, options);
      this.#observables.set(key, observable);
    }
    meter.addBatchObservableCallback(this.#collect, [...this.#observables.values()]);
    this.#instances = new Instances((observed) => this.#retire(observed));
  }

  /** Instances followed now. */
  get instances(): number {
    return this.#instances.size;
  }

  /** Removes the callback and stops following instances. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#meter.removeBatchObservableCallback(this.#collect, [...this.#observables.values()]);
    this.#instances.close();
    this.#retired.clear();
    this.#seen.clear();
  }

  readonly #collect = (result: BatchObservableResult): void => {
    if (this.#closed) return;
    const points: Points = new Map();
    for (const observed of this.#instances.values()) read(observed, points, false);
    for (const [key, retired] of this.#retired) add(points, key, retired);
    for (const [key, seen] of this.#seen) {
      if (!points.has(key)) points.set(key, { ...seen, value: 0 });
    }
    for (const [key, point] of points) {
      const observable = this.#observables.get(point.instrument);
      if (observable === undefined) continue;
      result.observe(observable, point.value, point.attributes);
      if (
        INSTRUMENTS[point.instrument].kind !== 'counter' &&
        !this.#seen.has(key) &&
        this.#seen.size < MAX_SERIES
      ) {
        this.#seen.set(key, { ...point, value: 0 });
      }
    }
  };

  /** Keeps the last counts of a closing instance, so its counters never go down. */
  #retire(observed: Observed): void {
    const points: Points = new Map();
    read(observed, points, true);
    for (const [key, point] of points) {
      if (!this.#retired.has(key) && this.#retired.size >= MAX_SERIES) continue;
      add(this.#retired, key, point);
    }
  }
}

/** Reads one instance's `stats()` into `points` (only its counters with `countersOnly`). */
function read(observed: Observed, points: Points, countersOnly: boolean): void {
  let stats: unknown;
  try {
    stats = observed.instance.stats();
  } catch {
    // A stats() that throws (a closed instance of some version) observes nothing this time.
    return;
  }
  const base = observed.attributes;
  if (!countersOnly) addPoint(points, 'instances', base, 1);
  const table = TABLES.get(observed.package);
  if (table !== undefined) {
    for (const row of table.rows) apply(row, stats, base, points, countersOnly);
  }
  for (const redis of redisBlocks(stats)) {
    const attributes = { ...base, [ATTRIBUTES.connection]: redis.name };
    for (const row of REDIS_ROWS) apply(row, redis, attributes, points, countersOnly);
  }
}

function apply(
  row: Row,
  stats: unknown,
  base: Attributes,
  points: Points,
  countersOnly: boolean,
): void {
  if (countersOnly && INSTRUMENTS[row.instrument].kind !== 'counter') return;
  let value: number | undefined;
  let extra: Attributes | undefined;
  try {
    extra = typeof row.attributes === 'function' ? row.attributes(stats) : row.attributes;
    if (typeof row.attributes === 'function' && extra === undefined) return;
    value = row.read(stats);
  } catch {
    return;
  }
  if (value === undefined || !Number.isFinite(value)) return;
  addPoint(points, row.instrument, extra === undefined ? base : { ...base, ...extra }, value);
}

function addPoint(
  points: Points,
  instrument: InstrumentKey,
  attributes: Attributes,
  value: number,
): void {
  add(points, seriesKey(instrument, attributes), { instrument, attributes, value });
}

function add(points: Points, key: string, point: Point): void {
  const existing = points.get(key);
  if (existing === undefined) points.set(key, { ...point });
  else existing.value += point.value;
}

/** A stable key for a series: the instrument and its attributes, sorted. */
function seriesKey(instrument: string, attributes: Attributes): string {
  let key = instrument;
  for (const name of Object.keys(attributes).sort()) key += `\u0000${name}=${attributes[name]}`;
  return key;
}
