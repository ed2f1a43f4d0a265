import { createRequire } from 'node:module';
import type * as OtelApi from '@opentelemetry/api';
import { OtelApiMissingError } from '../errors.js';

/** The `@opentelemetry/api` module. */
export type Api = typeof OtelApi;

let loaded: Api | undefined;

/**
 * `@opentelemetry/api`, loaded on first use (never at import time: `@x/otel` loads without it,
 * it is an optional peer dependency). Resolved from this package, as a static import would be.
 * @throws OtelApiMissingError when it is not installed (any other load error as it is).
 */
export function loadApi(): Api {
  if (loaded !== undefined) return loaded;
  try {
    loaded = createRequire(import.meta.url)('@opentelemetry/api') as Api;
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') {
      throw new OtelApiMissingError(error);
    }
    throw error;
  }
  return loaded;
}
