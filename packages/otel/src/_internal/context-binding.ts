import { AsyncLocalStorage } from 'node:async_hooks';
import type { Context } from '@opentelemetry/api';
import type { Api } from './api.js';

/**
 * The `AsyncLocalStorage` behind OpenTelemetry's active context, when the registered context
 * manager has one (`AsyncLocalStorageContextManager` of `@opentelemetry/context-async-hooks`, the
 * one `NodeSDK` and `NodeTracerProvider.register()` install), else `undefined`.
 *
 * With it, a `TracingChannel` can make our span the active one while the traced call runs
 * (`channel.start.bindStore(storage, ...)`), so that spans created inside the call (those of
 * `@opentelemetry/instrumentation-ioredis`, the application's own) are its children. The API has
 * no public way to get it: this reads two private fields (`context._getContextManager()` and the
 * manager's `_asyncLocalStorage`), and is guarded: an unknown shape, or a storage that is not
 * what `context.active()` reads, gives `undefined` and spans are then siblings of those created
 * inside the call (still children of the caller's active span). This file is the only place that
 * does this.
 */
export function activeContextStorage(api: Api): AsyncLocalStorage<Context> | undefined {
  try {
    const getManager = (api.context as unknown as { _getContextManager?: unknown })
      ._getContextManager;
    if (typeof getManager !== 'function') return undefined;
    const manager = getManager.call(api.context) as { _asyncLocalStorage?: unknown } | undefined;
    const storage = manager?._asyncLocalStorage;
    if (!(storage instanceof AsyncLocalStorage)) return undefined;
    // Proof that the storage is what context.active() reads.
    const probe = api.ROOT_CONTEXT.setValue(api.createContextKey('@x/otel probe'), true);
    const seen = storage.run(probe, () => api.context.active());
    return seen === probe ? (storage as AsyncLocalStorage<Context>) : undefined;
  } catch {
    return undefined;
  }
}
