import { defineXConfig } from '@x/vitest-config';
import { defineConfig } from 'vitest/config';

const config = defineXConfig();
// OpenTelemetry's packages name a bundler-only ESM build under the `module` condition (imports
// without file extensions, which Node cannot load): resolve them as Node does.
const nodeOnly = (conditions: string[] | undefined) =>
  conditions?.filter((condition) => condition !== 'module');
if (config.resolve) config.resolve.conditions = nodeOnly(config.resolve.conditions);
if (config.ssr?.resolve) config.ssr.resolve.conditions = nodeOnly(config.ssr.resolve.conditions);

export default defineConfig(config);
