import type { Cluster, Redis } from 'ioredis';

/**
 * Keeps a Cluster client from leaking node connections.
 *
 * ioredis 5's connection pool removes a node by its address when a node object *of that address*
 * ends. When the pool drops a node and creates a new one for the same address before the old one
 * has ended (a reconnection of the Cluster, a topology refresh during a failover), the old node's
 * `end` removes the new one from the pool. The new node may be connected (a command was routed to
 * it, or the near cache's tracker connected it): nothing routes commands to it any more, and
 * neither `quit()` nor `disconnect()` of the Cluster closes it, so its socket keeps the process
 * alive after every client was closed (ioredis 6 checks the node's identity and no longer does
 * this).
 *
 * The sweeper remembers every node the pool announced (`+node`), closes the ones the pool no longer
 * holds whenever a node leaves (`-node`: the event that follows such a removal), and on
 * {@link ClusterNodeSweeper.stop} closes what the pool lost (or, for a client being closed, every
 * node it announced that has not ended).
 */
export class ClusterNodeSweeper {
  readonly #cluster: Cluster;
  readonly #nodes = new Set<Redis>();
  #stopped = false;

  constructor(cluster: Cluster) {
    this.#cluster = cluster;
    for (const node of cluster.nodes('all')) this.#remember(node);
    cluster.on('+node', this.#onAdd);
    cluster.on('-node', this.#onRemove);
  }

  /** Nodes announced by the pool and not ended yet (for tests and diagnosis). */
  get size(): number {
    return this.#nodes.size;
  }

  /**
   * Stops watching the pool and closes the nodes it lost. `all`: the client is being closed, so
   * close every node it announced that has not ended (call it after the client's own
   * `disconnect()`, which closes the nodes the pool still holds).
   */
  stop(all: boolean): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#cluster.off('+node', this.#onAdd);
    this.#cluster.off('-node', this.#onRemove);
    if (all) {
      for (const node of this.#nodes) if (node.status !== 'end') node.disconnect();
      this.#nodes.clear();
    } else {
      this.#sweep();
    }
  }

  readonly #onAdd = (node: Redis): void => {
    this.#remember(node);
  };

  readonly #onRemove = (): void => {
    this.#sweep();
  };

  #remember(node: Redis): void {
    if (this.#nodes.has(node)) return;
    this.#nodes.add(node);
    node.once('end', () => this.#nodes.delete(node));
  }

  /** Closes every node the pool no longer holds. */
  #sweep(): void {
    const pooled = new Set(this.#cluster.nodes('all'));
    for (const node of this.#nodes) {
      if (pooled.has(node)) continue;
      this.#nodes.delete(node);
      if (node.status !== 'end') node.disconnect();
    }
  }
}
