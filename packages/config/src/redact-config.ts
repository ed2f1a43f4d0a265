import { REDACTED, redactUrl } from './_internal/redact.js';
import type { RedisConfig, RedisConfigInput } from './config.js';

/** A {@link RedisConfig} with every secret replaced by `'***'`, safe to log. */
export type RedactedRedisConfig = { readonly [K in keyof RedisConfig]: RedisConfig[K] };

/**
 * Returns a plain copy of `config` (or of a config input) with passwords replaced by `'***'`
 * and credentials inside URLs redacted (`redis://user:***@host`). Safe to log or serialise.
 */
export function redactConfig(config: RedisConfig | RedisConfigInput): RedactedRedisConfig {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (key === 'password' || key === 'sentinelPassword') {
      out[key] = value === undefined ? undefined : REDACTED;
    } else if (key === 'url' && typeof value === 'string') {
      out[key] = redactUrl(value);
    } else if (key === 'readReplicaUrls' || key === 'clusterNodes' || key === 'sentinels') {
      // Lists may hold URLs with credentials; each entry is redacted on its own.
      out[key] =
        typeof value === 'string'
          ? value.split(',').map(redactUrl).join(',')
          : Array.isArray(value)
            ? value.map((u) =>
                typeof u === 'string'
                  ? redactUrl(u)
                  : typeof u === 'object' && u !== null
                    ? { ...u }
                    : u,
              )
            : value;
    } else if (Array.isArray(value)) {
      out[key] = value.map((e) => (typeof e === 'object' && e !== null ? { ...e } : e));
    } else if (typeof value === 'object' && value !== null) {
      out[key] = { ...value };
    } else {
      out[key] = value;
    }
  }
  return out as unknown as RedactedRedisConfig;
}
