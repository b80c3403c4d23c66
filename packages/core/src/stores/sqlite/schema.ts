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

/**
 * 2: the `facet_counts` summary (filled from `events` when an older file is opened for writing).
 * 3: no NUL in the search text (see `eventSearchText`): rows written before are rewritten, and re-indexed, on open.
 */
export const SCHEMA_VERSION = 3

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
-- Facet counts per tenant and calendar period (UTC month 'YYYY-MM', grain 'm'; UTC day 'YYYY-MM-DD', grain 'd'):
-- facets over a long window add up whole months and days from here and scan only the partial days at its two edges
-- and the few newest events not counted yet (facet_progress). \`newest\` (max of occurred_at || id) and \`name\` serve the actor facet.
CREATE TABLE IF NOT EXISTS facet_counts (
  tenant_id  TEXT    NOT NULL,
  facet      TEXT    NOT NULL,
  grain      TEXT    NOT NULL,
  period     TEXT    NOT NULL,
  actor_type TEXT    NOT NULL,
  value      TEXT    NOT NULL,
  n          INTEGER NOT NULL,
  newest     TEXT    NOT NULL,
  name       TEXT,
  PRIMARY KEY (tenant_id, facet, grain, period, actor_type, value)
) WITHOUT ROWID;
-- Every event with rowid <= counted_rowid is in facet_counts; later ones are counted from the events when read.
CREATE TABLE IF NOT EXISTS facet_progress (
  id            INTEGER PRIMARY KEY CHECK (id = 1),
  counted_rowid INTEGER NOT NULL
);
INSERT OR IGNORE INTO facet_progress (id, counted_rowid) VALUES (1, 0);
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
`

/** Facets kept in `facet_counts`: name, the event column counted, whether it is the actor facet (type, newest name). */
export const SUMMARISED_FACETS = [
  { facet: 'actor', column: 'actor_id' },
  { facet: 'action', column: 'action' },
  { facet: 'resource_type', column: 'resource_type' },
] as const

/** Grains of `facet_counts` and the length of the `occurred_at` prefix that names their period. */
export const FACET_GRAINS = [
  { grain: 'm', prefix: 7 },
  { grain: 'd', prefix: 10 },
] as const

/**
 * Adds the events with `rowid` in `(?, ?]` to `facet_counts`, one statement per facet and grain, each a GROUP BY in
 * SQLite: events are counted in bulk every {@link FACET_CATCH_UP_ROWS} rows (and once for a whole older file), not per
 * append. The actor name follows the newest event.
 */
export const FACET_CATCH_UP_SQL = SUMMARISED_FACETS.flatMap(({ facet, column }) =>
  FACET_GRAINS.map(({ grain, prefix }) => {
    const actor = facet === 'actor'
    return `INSERT INTO facet_counts (tenant_id, facet, grain, period, actor_type, value, n, newest, name)
  SELECT tenant_id, '${facet}', '${grain}', substr(occurred_at, 1, ${prefix}), ${actor ? 'actor_type' : "''"}, ${column}, count(*),
    ${actor ? 'max(occurred_at || id), actor_name' : "'', NULL"}
  FROM events WHERE rowid > ? AND rowid <= ?
  GROUP BY tenant_id, substr(occurred_at, 1, ${prefix})${actor ? ', actor_type' : ''}, ${column}
  ON CONFLICT (tenant_id, facet, grain, period, actor_type, value) DO UPDATE SET
    n = n + excluded.n,
    name = CASE WHEN excluded.newest > newest THEN excluded.name ELSE name END,
    newest = max(newest, excluded.newest)`
  }),
)

/**
 * Events not yet in `facet_counts` at most (plus one append): facets count these few from the events themselves.
 * Counting in bulk costs about a tenth of counting every append (measured on the ingest bench).
 */
export const FACET_CATCH_UP_ROWS = 5000

/**
 * The optional trigram index behind `q` (`searchIndex` option). Contentless with `detail=none`: it stores only which
 * rows hold which 3-character sequences, the smallest and cheapest form to write. A search asks it for the rows holding
 * every trigram of the term (a superset of the matches) and tests the exact substring on those rows only. A trigger
 * keeps it current for every writer of the file, whatever process or option it runs with.
 */
export const SEARCH_INDEX_SQL = `
CREATE VIRTUAL TABLE IF NOT EXISTS events_search USING fts5(search, content='', tokenize='trigram', detail=none);
CREATE TRIGGER IF NOT EXISTS events_search_insert AFTER INSERT ON events BEGIN
  INSERT INTO events_search (rowid, search) VALUES (new.rowid, new.search);
END;
`
export const SEARCH_INDEX_BACKFILL_SQL = 'INSERT INTO events_search (rowid, search) SELECT rowid, search FROM events'

/**
 * The columns copied from each event beside its JSON, in insert order. Verification compares them with the hashed
 * event (`readChainIndexed`), since lists, filters, facets and exports select events by them.
 */
export const INDEXED_EVENT_COLUMNS = [
  'tenant_id',
  'chain_id',
  'seq',
  'occurred_at',
  'id',
  'actor_type',
  'actor_id',
  'actor_name',
  'action',
  'resource_type',
  'resource_id',
  'outcome',
  'search',
  'prev_hash',
  'hash',
] as const

export const INSERT_EVENT_SQL = `INSERT INTO events (${INDEXED_EVENT_COLUMNS.join(', ')}, event)
  VALUES (${[...INDEXED_EVENT_COLUMNS, 'event'].map(() => '?').join(', ')})`

/** What each of {@link INDEXED_EVENT_COLUMNS} holds for one sealed event (an absent optional field NULL). */
export function indexedColumnValues(event: AuditEvent): (string | number | null)[] {
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
  ]
}

/** The values of {@link INSERT_EVENT_SQL} for one sealed event. */
export function eventRow(event: AuditEvent): (string | number | null)[] {
  const row = indexedColumnValues(event)
  row.push(JSON.stringify(event))
  return row
}
