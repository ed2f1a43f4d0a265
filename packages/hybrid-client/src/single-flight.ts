/**
 * Concurrent loads of one key share one promise: the first caller starts the load, every caller
 * that comes while it runs gets the same promise (its value, or its error). A key is held only
 * while its load runs, so the map is bounded by the loads in flight.
 */
export class SingleFlight<T> {
  readonly #flights = new Map<string, Promise<T>>();

  /** Loads in flight. */
  get size(): number {
    return this.#flights.size;
  }

  /**
   * The load of `key` in flight, else a new one: `load(key, a, b)` (its arguments passed
   * through, so callers need no closure).
   */
  run<A, B>(key: string, load: (key: string, a: A, b: B) => Promise<T>, a: A, b: B): Promise<T> {
    const flight = this.#flights.get(key);
    if (flight !== undefined) return flight;
    const started = load(key, a, b).finally(() => {
      this.#flights.delete(key);
    });
    this.#flights.set(key, started);
    return started;
  }
}
