/** A `k=v,k=v` value of an INFO field (e.g. `db0:keys=1,expires=0`), split into its pairs. */
export type InfoFields = Record<string, string>;

/** One INFO value: plain text, or its `k=v` pairs when the value is a list of them. */
export type InfoValue = string | InfoFields;

/** One INFO section (`# Memory` → `memory`), field name → value. */
export type InfoSection = Record<string, InfoValue>;

/** Every section of an INFO reply, keyed by its lower-cased name (`server`, `memory`, `keyspace`...). */
export type InfoSections = Record<string, InfoSection>;

/** Where fields that come before any `# Section` header are put. */
export const DEFAULT_INFO_SECTION = 'default';

const PAIRS = /^[\w.-]+=[^,]*(?:,[\w.-]+=[^,]*)*$/;

/**
 * Parses the text of an INFO reply into sections. Tolerant by design: LF or CRLF line ends,
 * unknown sections and fields are kept as they are, lines without `:` are skipped, values made of
 * `k=v` pairs (`db0:keys=1,expires=0`, `slave0:ip=...,port=...`) become objects. A field that
 * repeats within a section (the `module:` lines) keeps every occurrence: the first under its
 * name, the next ones as `name#1`, `name#2`...
 *
 * Values stay strings: INFO has no types and its numbers can exceed 2^53
 * (use {@link serverStats} for typed numbers).
 *
 * @example
 * parseInfo('# Keyspace\r\ndb0:keys=1,expires=0\r\n').keyspace?.db0 // { keys: '1', expires: '0' }
 */
export function parseInfo(text: string): InfoSections {
  const sections: InfoSections = Object.create(null);
  let current: InfoSection | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const name = line.slice(1).trim().toLowerCase();
      current = sections[name];
      if (!current) {
        current = Object.create(null) as InfoSection;
        sections[name] = current;
      }
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1);
    if (!current) {
      current = Object.create(null) as InfoSection;
      sections[DEFAULT_INFO_SECTION] = current;
    }
    let name = key;
    for (let n = 1; name in current; n++) name = `${key}#${n}`;
    current[name] = PAIRS.test(value) ? splitPairs(value) : value;
  }
  return sections;
}

function splitPairs(value: string): InfoFields {
  const fields: InfoFields = Object.create(null);
  for (const pair of value.split(',')) {
    const eq = pair.indexOf('=');
    fields[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return fields;
}

/** How the server runs. */
export type ServerMode = 'standalone' | 'sentinel' | 'cluster';

/** What the server is in its replication topology (`slave` is reported as `replica`). */
export type ServerRole = 'master' | 'replica' | 'sentinel' | 'unknown';

/** One replica as seen by its master (`slaveN:` fields of `# Replication`). */
export interface ReplicaInfo {
  host: string;
  port: number;
  /** `online`, `wait_bgsave`, `send_bulk`... */
  state: string;
  offset: number;
  /** Seconds since the replica's last acknowledgement. */
  lag: number;
}

/** The replication link, from `# Replication`. */
export interface ReplicationStats {
  role: ServerRole;
  /** Replicas connected to this master (0 on a replica). */
  connectedReplicas: number;
  replicas: ReplicaInfo[];
  /** On a replica: whether its link to the master is up. */
  masterLinkStatus?: 'up' | 'down';
  /** On a replica: the master it follows. */
  masterHost?: string;
  masterPort?: number;
  /** On a replica: seconds since the last interaction with the master. */
  masterLastIoSecondsAgo?: number;
  /** On a replica: true while a full sync is in progress. */
  masterSyncInProgress?: boolean;
}

/** Typed summary of a server's INFO. Create with {@link serverStats} or {@link toServerStats}. */
export interface ServerStats {
  /** `redis_version`, e.g. `'7.0.15'`. */
  version: string;
  mode: ServerMode;
  role: ServerRole;
  uptimeSeconds: number;
  connectedClients: number;
  usedMemory: { bytes: number; human: string };
  /** `bytes` 0 means no limit. */
  maxmemory: { bytes: number; human: string; policy: string };
  replication: ReplicationStats;
  persistence: {
    /** True when the append-only file is on. */
    aofEnabled: boolean;
    /** Unix time (s) of the last successful RDB save, `null` when unknown. */
    rdbLastSaveTime: number | null;
    rdbChangesSinceLastSave: number;
    /** True while the dataset is being loaded (the server answers `LOADING` to most commands). */
    loading: boolean;
  };
  /** Keys over every database of `# Keyspace`. */
  keys: number;
  /** Keys evicted because of maxmemory since start. */
  evictedKeys: number;
  /** Every parsed section, for the fields not summarised here. */
  raw: InfoSections;
}

/** The part of an ioredis client {@link serverStats} uses: `info()`. */
export interface InfoClient {
  info(): Promise<string>;
}

/**
 * Runs INFO on `client` and returns the typed summary. On a `Cluster` client the answer comes
 * from one node (ioredis picks it). Rejects with the client's error when INFO fails; it adds no
 * deadline of its own (the client's `commandTimeout` applies).
 */
export async function serverStats(client: InfoClient): Promise<ServerStats> {
  return toServerStats(parseInfo(await client.info()));
}

/** Builds {@link ServerStats} from parsed INFO sections (missing fields become 0 / `''`). */
export function toServerStats(info: InfoSections): ServerStats {
  const server = info.server ?? {};
  const memory = info.memory ?? {};
  const repl = info.replication ?? {};
  const persistence = info.persistence ?? {};
  const mode = toMode(text(server.redis_mode), info);
  const role: ServerRole = mode === 'sentinel' ? 'sentinel' : toRole(text(repl.role));

  const replicas: ReplicaInfo[] = [];
  for (const [key, value] of Object.entries(repl)) {
    if (!/^slave\d+$/.test(key) || typeof value === 'string') continue;
    replicas.push({
      host: value.ip ?? '',
      port: num(value.port),
      state: value.state ?? '',
      offset: num(value.offset),
      lag: num(value.lag),
    });
  }
  const replication: ReplicationStats = {
    role,
    connectedReplicas: num(repl.connected_slaves),
    replicas,
  };
  if (role === 'replica') {
    const link = text(repl.master_link_status);
    if (link === 'up' || link === 'down') replication.masterLinkStatus = link;
    if (repl.master_host !== undefined) replication.masterHost = text(repl.master_host);
    if (repl.master_port !== undefined) replication.masterPort = num(repl.master_port);
    if (repl.master_last_io_seconds_ago !== undefined) {
      replication.masterLastIoSecondsAgo = num(repl.master_last_io_seconds_ago);
    }
    if (repl.master_sync_in_progress !== undefined) {
      replication.masterSyncInProgress = text(repl.master_sync_in_progress) === '1';
    }
  }

  let keys = 0;
  for (const value of Object.values(info.keyspace ?? {})) {
    if (typeof value !== 'string') keys += num(value.keys);
  }
  const lastSave = persistence.rdb_last_save_time;

  return {
    version: text(server.redis_version),
    mode,
    role,
    uptimeSeconds: num(server.uptime_in_seconds),
    connectedClients: num(info.clients?.connected_clients),
    usedMemory: { bytes: num(memory.used_memory), human: text(memory.used_memory_human) },
    maxmemory: {
      bytes: num(memory.maxmemory),
      human: text(memory.maxmemory_human),
      policy: text(memory.maxmemory_policy),
    },
    replication,
    persistence: {
      aofEnabled: text(persistence.aof_enabled) === '1',
      rdbLastSaveTime: lastSave === undefined ? null : num(lastSave),
      rdbChangesSinceLastSave: num(persistence.rdb_changes_since_last_save),
      loading: text(persistence.loading) === '1',
    },
    keys,
    evictedKeys: num(info.stats?.evicted_keys),
    raw: info,
  };
}

function toMode(redisMode: string, info: InfoSections): ServerMode {
  if (redisMode === 'sentinel' || info.sentinel) return 'sentinel';
  if (redisMode === 'cluster' || text(info.cluster?.cluster_enabled) === '1') return 'cluster';
  return 'standalone';
}

function toRole(role: string): ServerRole {
  if (role === 'master') return 'master';
  if (role === 'slave' || role === 'replica') return 'replica';
  return 'unknown';
}

function text(value: InfoValue | undefined): string {
  return typeof value === 'string' ? value : '';
}

function num(value: InfoValue | undefined): number {
  if (typeof value !== 'string' || value === '') return 0;
  const n = Number(value);
  return Number.isFinite(n) ? n : 0;
}
