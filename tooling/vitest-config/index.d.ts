import type { ViteUserConfig } from 'vitest/config';

/** Builds a vitest config for one workspace package (source conditions, timeouts, JSON report). */
export declare function defineXConfig(test?: NonNullable<ViteUserConfig['test']>): ViteUserConfig;
