import { accessSync, constants } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

const HOW_TO_INSTALL =
  'install it with `apt-get install -y redis-server` (Debian/Ubuntu; it brings redis-cli too), ' +
  '`brew install redis` (macOS), or point REDIS_SERVER_BIN at the binary';

/** Absolute path of `redis-server`; throws an error saying how to install it when missing. */
export function redisServerBin(): string {
  const fromEnv = process.env.REDIS_SERVER_BIN;
  if (fromEnv) return fromEnv;
  const found = findOnPath('redis-server');
  if (!found) throw new Error(`[@x/testkit] redis-server was not found on PATH: ${HOW_TO_INSTALL}`);
  return found;
}

/** Absolute path of `redis-cli` (next to redis-server, or on PATH). */
export function redisCliBin(): string {
  const besideServer = join(dirname(redisServerBin()), 'redis-cli');
  try {
    accessSync(besideServer, constants.X_OK);
    return besideServer;
  } catch {}
  const found = findOnPath('redis-cli');
  if (!found) throw new Error(`[@x/testkit] redis-cli was not found on PATH: ${HOW_TO_INSTALL}`);
  return found;
}

/** Absolute path of `openssl`, needed for TLS servers. */
export function opensslBin(): string {
  const found = findOnPath('openssl');
  if (!found) {
    throw new Error(
      '[@x/testkit] openssl was not found on PATH: install it with `apt-get install -y openssl`',
    );
  }
  return found;
}
