import { createHybridClient, type HybridClient, type HybridClientOptions } from '@x/hybrid-client';

/**
 * A hybrid client on Redis whose near cache tracks already (the start-up waits for it within
 * its deadline; this waits up to 5 s more on a busy machine), so measured reads are cached from
 * the first. Throws when tracking is not set up by then.
 */
export async function trackedHybrid(options: HybridClientOptions): Promise<HybridClient> {
  const c = await createHybridClient({ logger: false, ...options });
  const t0 = performance.now();
  while (c.stats().near?.tracking !== true) {
    if (performance.now() - t0 > 5_000) {
      await c.close();
      throw new Error('near cache tracking not established');
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return c;
}
