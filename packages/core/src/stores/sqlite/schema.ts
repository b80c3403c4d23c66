import type { AuditEvent } from '../../event/schema.js'
import { eventSearchText } from '../../store/search-text.js'

/**
 * Filters of the admin API that have their own index, most selective first: a query uses the index of the
 * first filter it sets. Every index starts with `tenant_id` and ends with `(occurred_at, id)`, so a filtered
 * page (first or deep, by keyset) is one range scan in the requested order, never a sort.
 */
export const FILTER_INDEXES = [
  { filter: 'resourceId', column: 'resource_id', index: 'events_by_resource_id' },
  { filter: 'actor', column: 'actor_id', index: 'events_by_actor' },
  { filter: 'action', column: 'action', index: 'events_by_action' },
  { filter: 'resourceType', column: 'resource_type', index: 'events_by_resource_type' },
] as const

/**
 * The index of every other query (time window, `actorType`, `outcome`, `q`). It also carries `actor_type` and
 * `outcome`: those filters have two or three values, so scanning this index in order and testing them on the
 * index entry (no table lookup) finds a page about as fast as a dedicated index would, and each index fewer
 * makes every insert cheaper.
 */
export const TIME_INDEX = 'events_by_time'

/** Settings of every connection the store opens (the ingest bench's baseline uses the same). */
export function connectionPragmas({ busyTimeoutMs, cacheSizeKiB }: { busyTimeoutMs: number; cacheSizeKiB: number }): string[] {
  return [
    // busy_timeout first: switching to WAL and creating tables take the write lock another process may hold.
    `PRAGMA busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`,
    'PRAGMA journal_mode = WAL',
    'PRAGMA synchronous = NORMAL',
    `PRAGMA cache_size = -${Math.max(1, Math.floor(cacheSizeKiB))}`,
    'PRAGMA temp_store = MEMORY',
    // Checkpoint every ~40 MB of WAL instead of 4 MB: index pages that every batch touches are copied into the
    // database file once per checkpoint, not once per few commits (about +40 % inserts/s measured at 200k events).
    'PRAGMA wal_autocheckpoint = 10000',
  ]
}

export const SCHEMA_VERSION = 1

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS events (
  tenant_id     TEXT    NOT NULL,
  chain_id      TEXT    NOT NULL,
  seq           INTEGER NOT NULL,
  occurred_at   TEXT    NOT NULL,
  id            TEXT    NOT NULL,
  actor_type    TEXT    NOT NULL,
  actor_id      TEXT    NOT NULL,
  actor_name    TEXT,
  action        TEXT    NOT NULL,
  resource_type TEXT    NOT NULL,
  resource_id   TEXT,
  outcome       TEXT    NOT NULL,
  search        TEXT    NOT NULL,
  prev_hash     TEXT    NOT NULL,
  hash          TEXT    NOT NULL,
  event         TEXT    NOT NULL
);
-- One position per chain: the guarantee that concurrent writers can never fork a chain.
CREATE UNIQUE INDEX IF NOT EXISTS events_by_chain ON events (chain_id, seq);
CREATE UNIQUE INDEX IF NOT EXISTS events_by_id ON events (id);
CREATE INDEX IF NOT EXISTS ${TIME_INDEX} ON events (tenant_id, occurred_at, id, actor_type, outcome);
${FILTER_INDEXES.map(
  ({ column, index }) => `CREATE INDEX IF NOT EXISTS ${index} ON events (tenant_id, ${column}, occurred_at, id);`,
).join('\n')}
CREATE TABLE IF NOT EXISTS state (
  scope      TEXT NOT NULL,
  key        TEXT NOT NULL,
  value      TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (scope, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS leases (
  name       TEXT    PRIMARY KEY,
  owner      TEXT    NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (
  chain_id       TEXT    NOT NULL,
  seq            INTEGER NOT NULL,
  hash           TEXT    NOT NULL,
  created_at     TEXT    NOT NULL,
  prev_signature TEXT    NOT NULL,
  signature      TEXT    NOT NULL,
  key_id         TEXT    NOT NULL,
  PRIMARY KEY (chain_id, seq)
) WITHOUT ROWID;
PRAGMA user_version = ${SCHEMA_VERSION};
`

export const INSERT_EVENT_SQL = `INSERT INTO events (tenant_id, chain_id, seq, occurred_at, id, actor_type, actor_id, actor_name, action,
  resource_type, resource_id, outcome, search, prev_hash, hash, event)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

/** The values of {@link INSERT_EVENT_SQL} for one sealed event. */
export function eventRow(event: AuditEvent): (string | number | null)[] {
  return [
    event.tenantId,
    event.chainId,
    event.seq,
    event.occurredAt,
    event.id,
    event.actor.type,
    event.actor.id,
    event.actor.name ?? null,
    event.action,
    event.resource.type,
    event.resource.id ?? null,
    event.outcome,
    eventSearchText(event),
    event.prevHash,
    event.hash,
    JSON.stringify(event),
  ]
}
