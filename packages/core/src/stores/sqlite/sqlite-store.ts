import { existsSync, mkdirSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import Database from 'libsql'
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import { AuditKitError, isAuditKitError } from '../../errors.js'
import type { ActorType, AuditEvent, UnsealedEvent } from '../../event/schema.js'
import { sealerKeyOf, type ChainHead, type Sealer } from '../../integrity/hash.js'
import type { IndexedChainEvent, IndexedChainReader } from '../../integrity/source.js'
import { normaliseSearchTerm, withoutNul } from '../../store/search-text.js'
import type {
  ActorFacet,
  AuditStore,
  EventCursor,
  EventFilter,
  EventPage,
  EventQuery,
  FacetCount,
  Facets,
  SignedCheckpoint,
  StreamOptions,
} from '../../store/types.js'
import { storedAsAppended } from '../../store/stored-by-id.js'
import {
  FACET_CATCH_UP_ROWS,
  FACET_CATCH_UP_SQL,
  FILTER_INDEXES,
  INDEXED_EVENT_COLUMNS,
  INSERT_EVENT_SQL,
  SCHEMA_SQL,
  SCHEMA_VERSION,
  SEARCH_INDEX_BACKFILL_SQL,
  SEARCH_INDEX_SQL,
  TIME_INDEX,
  connectionPragmas,
  eventRow,
  indexedColumnValues,
} from './schema.js'
import { createReaderThread, createWriterThread, type ThreadReadArguments, type ThreadReadResults, type StoreThread } from './writer-thread.js'

export interface SqliteStoreOptions {
  /**
   * Database file; created if missing, with the folders on its path. `':memory:'` keeps everything in memory
   * (tests only: nothing survives `close()` and other instances cannot share it). Required.
   */
  path: string
  /**
   * How long a write waits for another connection or process holding the write lock before it fails
   * (the logger then retries with backoff). Opening the file waits as long, also where SQLite itself would refuse at
   * once (switching a new file to WAL while another process writes to it).
   * @default 5000
   */
  busyTimeoutMs?: number
  /**
   * SQLite page cache per connection, in KiB. A larger cache keeps the indexes hot while ingesting.
   * @default 32768
   */
  cacheSizeKiB?: number
  /**
   * Opens an existing file for reading only (e.g. a copy kept as evidence): nothing is created or changed, and
   * every write rejects with `STORE_UNAVAILABLE`.
   * @default false
   */
  readonly?: boolean
  /**
   * Keeps a trigram full-text index (SQLite FTS5) of every event's search text, so that a `q` search of 3 or more
   * characters reads only the rows that can match instead of testing every row of the window. It costs ingest
   * throughput (see docs/stores.md for figures). Once a file has the index, every writer keeps it current (a trigger)
   * and every reader uses it, whatever this option says; turning it on for an existing file indexes its events once.
   * @default false
   */
  searchIndex?: boolean
  /**
   * Where appends are hashed and written. `'thread'`: on a worker thread with its own connection, so that a batch's
   * inserts and commit never hold the event loop (request latency) and use a core the request handlers leave idle.
   * `'inline'`: on the thread that calls `append`. `':memory:'` and `readonly` stores always write inline. If the
   * thread cannot start (an app bundled without AuditKit's files on disk), the store writes inline and says so once
   * on stderr.
   * @default 'thread'
   */
  writer?: 'thread' | 'inline'
  /**
   * Where the admin's queries and facet menus are read. `'thread'`: on a worker thread with its own read-only
   * connection, started on the first such read, so that a slow one (a `q` search or a filtered facet menu over a year
   * of a large tenant: seconds) never holds the app's event loop; WAL lets it read while the writer writes. `'inline'`:
   * on the calling thread's connection. `':memory:'` and `file:` URI stores always read inline; so does a store whose
   * thread cannot start. Looking an event up by id, streaming an export and reading chains are always inline: each step is short.
   * @default 'thread'
   */
  reader?: 'thread' | 'inline'
  /**
   * The clock leases expire by.
   * @default Date.now
   */
  now?: () => number
}

type Db = InstanceType<typeof Database>
type Statement = ReturnType<Db['prepare']>
type SqlValue = string | number | null

/** A BLOB as the driver returns it. */
type Bytes = ArrayBuffer | Uint8Array
// Text is read as bytes (`CAST(... AS BLOB)`) and decoded here: the driver aborts the whole process on text that is
// not UTF-8 (which only an edit of the file can put there), and cuts text at a NUL.
interface HeadRow {
  seq: number
  hash: Bytes
}
interface EventRow {
  event: Bytes
}
interface IndexedEventRow {
  row: number
  event: Bytes
  /** Absent when the batch is read without the quick comparison. */
  indexed?: Bytes
}
interface CountRow {
  bytes: Bytes
  count: number
}
/** `id` and `name` are read as bytes: the driver cuts text at a NUL, which an actor's id or name may hold. */
interface ActorRow {
  type: ActorType
  id: Bytes
  name: Bytes | null
  count: number
}
interface StateRow {
  key: Bytes
  value: Bytes
}
interface CheckpointRow {
  chain_id: Bytes
  seq: number
  hash: Bytes
  created_at: Bytes
  prev_signature: Bytes
  signature: Bytes
  key_id: Bytes
}

const DEFAULT_STREAM_BATCH = 1000
/** Above this many trigram candidates a search scans the window instead (see `searchCandidates`). */
const MAX_SEARCH_CANDIDATES = 20_000
const FEW_SEARCH_CANDIDATES = 1000
/** Newest rows of the window a search samples to recognise a common term (see `searchCandidates`). */
const SEARCH_SAMPLE_ROWS = 1000
/** Trigrams of a long term counted at most: a few bounded reads find rare ones if there are any. */
const MAX_PROBED_TRIGRAMS = 8

/**
 * A chain's events with their columns as one JSON array, which JSON.stringify of `indexedColumnValues` reproduces
 * when they agree: one value per row is far cheaper to read and compare than fifteen (verification speed). JSON keeps
 * the type (a BLOB makes json_array fail: the batch is then compared exactly) and a NUL, which the driver would cut
 * text at.
 */
const READ_CHAIN_INDEXED_SQL = `SELECT rowid AS row, CAST(event AS BLOB) AS event, CAST(json_array(${INDEXED_EVENT_COLUMNS.join(', ')}) AS BLOB) AS indexed
  FROM events WHERE chain_id = ? AND seq > ? ORDER BY seq ASC LIMIT ?`
const READ_CHAIN_ROWS_SQL = 'SELECT rowid AS row, CAST(event AS BLOB) AS event FROM events WHERE chain_id = ? AND seq > ? ORDER BY seq ASC LIMIT ?'
/** The event column, as bytes (see `Bytes`). */
const EVENT_BYTES = 'CAST(event AS BLOB) AS event'
/** The newest event of a chain: its seq and hash. */
const READ_HEAD_SQL = 'SELECT seq, CAST(hash AS BLOB) AS hash FROM events WHERE chain_id = ? ORDER BY seq DESC LIMIT 1'

/** One row's columns, each as its type and its bytes: the exact comparison, when the quick one is not enough. */
const INDEXED_EVENT_COLUMNS_SQL = `SELECT ${INDEXED_EVENT_COLUMNS.map((column) => `typeof(${column}) AS "${column}:type", CAST(${column} AS BLOB) AS "${column}"`).join(', ')}
  FROM events WHERE rowid = ?`

function bytesOf(raw: Bytes): Buffer {
  return raw instanceof ArrayBuffer ? Buffer.from(raw) : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)
}

/** The columns whose stored value differs from the event's own, byte for byte as `eventRow` wrote them. */
function differingColumns(row: Record<string, unknown>, expected: readonly (string | number | null)[]): string[] {
  const differing: string[] = []
  INDEXED_EVENT_COLUMNS.forEach((column, index) => {
    const want = expected[index] ?? null
    const type = row[`${column}:type`]
    const raw = row[column] as Bytes | null
    const stored = raw === null ? null : bytesOf(raw)
    // A NUL in the search text of a file before schema version 3 (opened read-only, never rewritten) reads as the
    // space it became since.
    if (column === 'search' && stored) stored.forEach((byte, at) => byte === 0 && (stored[at] = 0x20))
    const same =
      want === null
        ? type === 'null'
        : typeof want === 'number'
          ? type === 'integer' && stored !== null && stored.toString('latin1') === String(want)
          : type === 'text' && stored !== null && stored.equals(Buffer.from(want))
    if (!same) differing.push(column)
  })
  return differing
}

/**
 * Times are stored as `toISOString()` text, whose string order is time order. Bounds are brought to the same form
 * (`...T00:00:00Z` would otherwise sort after `...T00:00:00.000Z`).
 */
function instant(value: string, name: string): string {
  const ms = Date.parse(value)
  if (Number.isNaN(ms)) throw new AuditKitError('INVALID_RANGE', `\`${name}\` is not an ISO 8601 time: ${JSON.stringify(value)}`)
  return new Date(ms).toISOString()
}

function schemaVersion(connection: Db): number {
  return (connection.prepare('PRAGMA user_version').get([]) as { user_version: number }).user_version
}

/** An insert refused by the unique `events_by_id` index ("UNIQUE constraint failed: events.id"): the id is stored. */
function isDuplicateId(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return code === 'SQLITE_CONSTRAINT_UNIQUE' && error instanceof Error && /\bevents\.id(?!\w)/.test(error.message)
}

/** SQLite's "database is locked" (SQLITE_BUSY and its extended codes). */
function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code.startsWith('SQLITE_BUSY') : error instanceof Error && /database is locked/i.test(error.message)
}

/** Blocks this thread for `ms`: opening is synchronous, like every other call into the driver. */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

function hasTable(connection: Db, name: string): boolean {
  return connection.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get([name]) !== undefined
}

/** Invalid bytes become U+FFFD (an edit the hash then reports); a leading U+FEFF is kept, not taken for a BOM. */
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true })

function eventOf(bytes: Bytes): AuditEvent {
  return JSON.parse(utf8.decode(bytes)) as AuditEvent
}

/**
 * Rewrites the search text of rows written before it held no NUL (schema version 3), inside the caller's write
 * transaction. FTS5 stops indexing a text at its first NUL, so such a row was indexed only up to it: it is deleted from
 * the index with the text it was indexed with and indexed again. The driver cuts text at a NUL, so it is read as bytes.
 */
function removeNulFromSearchText(connection: Db): void {
  const rows = connection.prepare('SELECT rowid AS id, CAST(search AS BLOB) AS raw FROM events WHERE instr(search, char(0)) > 0').all([]) as {
    id: number
    raw: Bytes
  }[]
  if (rows.length === 0) return
  // A file without the search index cannot even prepare statements on it.
  const indexed = hasTable(connection, 'events_search')
  const unindex = indexed ? connection.prepare("INSERT INTO events_search (events_search, rowid, search) VALUES ('delete', ?, ?)") : null
  const update = connection.prepare('UPDATE events SET search = ? WHERE rowid = ?')
  const index = indexed ? connection.prepare('INSERT INTO events_search (rowid, search) VALUES (?, ?)') : null
  for (const { id, raw } of rows) {
    const text = utf8.decode(raw)
    const fixed = withoutNul(text)
    unindex?.run([id, text])
    update.run([fixed, id])
    index?.run([id, fixed])
  }
}

/**
 * Counts every event into `facet_counts` again if its total is not the number of events it says it holds. Release 2
 * summarises the whole file whenever it finds user_version 1, which release 1 sets on every open, also on a file already
 * summarised: each of its events was then counted twice (mixing releases 1 and 2 on one file, a rollback through both).
 * Only a writer that finds an older version checks (a count on an index: 13 ms warm, 0.4 s cold for 480k events); a
 * recount takes as long as summarising an older file. AuditKit never deletes events: the summary holds those with
 * rowid <= counted_rowid.
 */
function repairFacetCounts(connection: Db): void {
  const counted = countedRowid(connection)
  // All events (counted on the smallest index) less the few newer ones (a rowid range), not a walk of the table itself.
  const held = numberFrom(connection, 'SELECT count(*) AS n FROM events') - numberFrom(connection, 'SELECT count(*) AS n FROM events WHERE rowid > ?', [counted])
  const summed = numberFrom(connection, "SELECT coalesce(sum(n), 0) AS n FROM facet_counts WHERE facet = 'action' AND grain = 'm'")
  if (summed === held) return
  connection.exec('DELETE FROM facet_counts')
  catchUpFacets(connection, 0, counted)
}

/** The number `n` that a one-row query answers. */
function numberFrom(connection: Db, sql: string, params: SqlValue[] = []): number {
  return (connection.prepare(sql).get(params) as { n: number }).n
}

function countedRowid(connection: Db): number {
  return numberFrom(connection, 'SELECT counted_rowid AS n FROM facet_progress')
}

function lastRowid(connection: Db): number {
  return numberFrom(connection, 'SELECT coalesce(max(rowid), 0) AS n FROM events')
}

/** Counts the events with rowid in `(after, upTo]` into `facet_counts` (inside the caller's write transaction). */
function catchUpFacets(connection: Db, after: number, upTo: number): void {
  for (const sql of FACET_CATCH_UP_SQL) connection.prepare(sql).run([after, upTo])
  connection.prepare('UPDATE facet_progress SET counted_rowid = ?').run([upTo])
}

const DAY_MS = 86_400_000

/**
 * Splits a window into what `facet_counts` can answer and what must be counted from the events: whole UTC months,
 * the whole days beside them, and the two partial days at the edges. Null when the window holds no whole day.
 */
type Span = [string, string]
function facetSpans(from: string, to: string): { months: Span; days: [Span, Span]; edges: [Span, Span] } | null {
  const fromMs = Date.parse(from)
  const toMs = Date.parse(to)
  const dayStart = Math.ceil(fromMs / DAY_MS) * DAY_MS
  const dayEnd = Math.floor(toMs / DAY_MS) * DAY_MS
  if (!(dayStart < dayEnd)) return null
  const first = new Date(dayStart)
  let monthStart = first.getUTCDate() === 1 ? dayStart : Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 1)
  const last = new Date(dayEnd)
  let monthEnd = Date.UTC(last.getUTCFullYear(), last.getUTCMonth(), 1)
  if (!(monthStart < monthEnd)) monthStart = monthEnd = dayEnd
  const iso = (ms: number): string => new Date(ms).toISOString()
  return {
    months: [iso(monthStart).slice(0, 7), iso(monthEnd).slice(0, 7)],
    days: [
      [iso(dayStart).slice(0, 10), iso(monthStart).slice(0, 10)],
      [iso(monthEnd).slice(0, 10), iso(dayEnd).slice(0, 10)],
    ],
    edges: [
      [from, iso(dayStart)],
      [iso(dayEnd), to],
    ],
  }
}

function actorFacet(row: ActorRow): ActorFacet {
  const facet: ActorFacet = { type: row.type, id: utf8.decode(row.id), count: row.count }
  if (row.name !== null) facet.name = utf8.decode(row.name)
  return facet
}

/** Filter fields in the order their SQL conditions are written (the statement cache key follows it). */
const EQUALITY_FILTERS = [
  ['actor', 'actor_id'],
  ['actorType', 'actor_type'],
  ['action', 'action'],
  ['resourceType', 'resource_type'],
  ['resourceId', 'resource_id'],
  ['outcome', 'outcome'],
] as const satisfies readonly (readonly [keyof EventFilter, string])[]

/**
 * The embedded, file-backed store: SQLite in WAL mode through the `libsql` driver.
 * Several instances and several processes may share one file; appends serialise on SQLite's write lock.
 */
export function createSqliteStore(options: SqliteStoreOptions): AuditStore {
  const { path } = options
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000
  const cacheSizeKiB = options.cacheSizeKiB ?? 32_768
  const now = options.now ?? Date.now
  const readonly = options.readonly ?? false
  const searchIndex = options.searchIndex ?? false
  if (typeof path !== 'string' || path === '') throw new AuditKitError('INVALID_OPTIONS', 'createSqliteStore: `path` is required')
  const writer = options.writer ?? 'thread'
  if (writer !== 'thread' && writer !== 'inline')
    throw new AuditKitError('INVALID_OPTIONS', `createSqliteStore: \`writer\` must be 'thread' or 'inline', not ${JSON.stringify(writer)}`)
  /** Created on the first append; null: writing inline. */
  let thread: StoreThread | null | undefined = writer === 'thread' && !readonly && path !== ':memory:' ? undefined : null
  const reader = options.reader ?? 'thread'
  if (reader !== 'thread' && reader !== 'inline')
    throw new AuditKitError('INVALID_OPTIONS', `createSqliteStore: \`reader\` must be 'thread' or 'inline', not ${JSON.stringify(reader)}`)
  /** Created on the first query or facets call; null: reading inline. */
  let readerThread: StoreThread | null | undefined = reader === 'thread' && path !== ':memory:' && !path.startsWith('file:') ? undefined : null

  let db: Db | null = null
  let closed = false
  let closing: Promise<void> | null = null
  /** Whether the file has an up-to-date `facet_counts` (schema version 2) and the trigram search index. */
  let hasFacetCounts = false
  let hasSearchIndex = false
  const statements = new Map<string, Statement>()

  /**
   * The device and inode of the file the writing connection opened, or null where the path names no file on disk
   * (`:memory:`, a `file:` URI) or the store is read-only. A file deleted or replaced (a restored backup) under an open
   * connection is no error to SQLite in WAL mode: commits would go on into the unlinked file and vanish with the process.
   */
  let opened: string | null = null
  // Resolved now: the file opened is the one at this path, even if the process changes its working directory later.
  const file = path === ':memory:' || path.startsWith('file:') ? '' : resolve(path)
  /** What every connection of the store, on any thread, opens: the resolved file, or the path where it names none. */
  const location = file === '' ? path : file
  const identityOf = (target: string): string => {
    const stats = statSync(target, { throwIfNoEntry: false })
    return stats ? `${stats.dev}:${stats.ino}` : 'missing'
  }
  const fileIdentity = (): string => identityOf(file)
  /**
   * The `-wal` the writing connection used, and, once that file was replaced, the `-wal` of the replaced file. SQLite
   * pairs a database with the `-wal` at its path, whichever file it belongs to: a restored copy moved over the file
   * alone (the old `-wal` and `-shm` left beside it) would be read and written with the old file's pages, corrupting
   * it while every write seemed to succeed. It is refused until that `-wal` is moved away or emptied.
   */
  let openedWal: string | null = null
  let replacedWal: string | null = null

  /**
   * Opens the file and creates the schema on first use, so every method works without an explicit `init()`. A file
   * deleted or replaced since is opened again; `append` is told (a failed write the logger reports, counts and retries).
   */
  function open(forAppend = false): Db {
    if (closed) throw new AuditKitError('STORE_UNAVAILABLE', `The sqlite store at ${path} is closed`)
    if (db && opened !== null && fileIdentity() !== opened) {
      const stale = db
      db = null
      opened = null
      replacedWal = openedWal
      openedWal = null
      statements.clear()
      try {
        stale.close()
      } catch {
        // Dropped either way: what matters is that the next use opens the file now at the path.
      }
      if (forAppend) throw new AuditKitError('STORE_UNAVAILABLE', `The sqlite database file at ${path} was deleted or replaced while open; it is opened again`)
    }
    if (db) return db
    if (readonly) {
      if (path === ':memory:' || !existsSync(location)) throw new AuditKitError('STORE_UNAVAILABLE', `No sqlite database at ${path} to open read-only`)
      const connection = openReadOnly(location)
      connection.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`)
      const version = schemaVersion(connection)
      // A file of an older version has no facet counts: its facets are counted from the events.
      hasFacetCounts = version >= 2 && hasTable(connection, 'facet_progress')
      // Before version 3 the index missed what follows a NUL in a row's search text: scanning is exact.
      hasSearchIndex = version >= 3 && hasTable(connection, 'events_search')
      db = connection
      // Tracked like a writing connection's: a reader thread would otherwise go on reading a file replaced under it.
      opened = file === '' ? null : fileIdentity()
      return connection
    }
    // Opening can meet a SQLITE_BUSY that busy_timeout does not wait out: a new file is in rollback-journal mode until
    // it is switched to WAL, and SQLite refuses that switch at once (to avoid a deadlock) while another process holds a
    // lock on it, as when two instances start together on a new file. Retried until busyTimeoutMs has passed.
    if (replacedWal !== null) {
      const wal = `${file}-wal`
      if (identityOf(wal) === replacedWal && (statSync(wal, { throwIfNoEntry: false })?.size ?? 0) > 0)
        throw new AuditKitError(
          'STORE_UNAVAILABLE',
          `The sqlite database file at ${path} was replaced while open, but ${path}-wal beside it is the write-ahead log of the replaced file: opening the new file with it would corrupt it. Move ${path}-wal and ${path}-shm away (they hold the replaced file's last events); until then writes are retried`,
        )
      replacedWal = null
    }
    const deadline = Date.now() + busyTimeoutMs
    for (let attempt = 1; ; attempt++) {
      try {
        db = openForWriting()
        opened = file === '' ? null : fileIdentity()
        openedWal = opened === null ? null : identityOf(`${file}-wal`)
        return db
      } catch (error) {
        if (!isBusy(error) || Date.now() >= deadline) throw error
        sleepSync(Math.min(100, 5 * attempt))
      }
    }
  }

  /** A new connection with the store's settings, and the schema created or brought up to date. */
  function openForWriting(): Db {
    // `data/audit.db` in a fresh checkout: SQLite creates the file but not its folder, and would fail on every retry.
    if (file !== '') mkdirSync(dirname(file), { recursive: true })
    // The path resolved when the store was made, as the threads open it: a later change of working directory must not
    // split the store's reads and writes across two files.
    const connection = new Database(location)
    try {
      for (const pragma of connectionPragmas({ busyTimeoutMs, cacheSizeKiB })) connection.exec(pragma)
      connection.exec('BEGIN IMMEDIATE')
      const version = schemaVersion(connection)
      const hadEvents = hasTable(connection, 'events')
      const hadSummary = hasTable(connection, 'facet_progress')
      connection.exec(SCHEMA_SQL)
      // An older release set the version last: release 2 may have counted the events twice (see repairFacetCounts).
      if (version < SCHEMA_VERSION && hadSummary) repairFacetCounts(connection)
      // From the progress mark, not from 0: release 1 sets user_version = 1 on every open, also on a file already
      // summarised (a rollback, or a replica of it restarted mid-upgrade); counting from 0 again counted events twice.
      if (version < 2 && hadEvents) catchUpFacets(connection, countedRowid(connection), lastRowid(connection))
      if (version < 3 && hadEvents) removeNulFromSearchText(connection)
      if (searchIndex && !hasTable(connection, 'events_search')) connection.exec(`${SEARCH_INDEX_SQL}; ${SEARCH_INDEX_BACKFILL_SQL}`)
      if (version < SCHEMA_VERSION) connection.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`)
      hasFacetCounts = true
      hasSearchIndex = hasTable(connection, 'events_search')
      connection.exec('COMMIT')
      return connection
    } catch (error) {
      if (connection.inTransaction) connection.exec('ROLLBACK')
      connection.close()
      throw error
    }
  }

  function statement(key: string, sql: () => string): Statement {
    let prepared = statements.get(key)
    if (!prepared) {
      prepared = open().prepare(sql())
      statements.set(key, prepared)
    }
    return prepared
  }

  /** Runs `work` and turns driver errors into `STORE_UNAVAILABLE` (AuditKit's own errors pass through). */
  function guarded<T>(operation: string, work: () => T): Promise<T> {
    try {
      // Opened before the work: what the file holds (facet summary, search index) is known only then. And statements
      // are cached: without this a file replaced under a reading connection (the SIEM exporter's, the admin's) would be
      // read stale forever, while the writer thread writes into the new one. `append` checks itself.
      if (operation !== 'append' && !closed) open()
      return Promise.resolve(work())
    } catch (error) {
      return Promise.reject(toStoreError(error, operation))
    }
  }

  function toStoreError(error: unknown, operation: string): AuditKitError {
    if (isAuditKitError(error)) return error
    const message = error instanceof Error ? error.message : String(error)
    const code = (error as { code?: unknown } | null)?.code
    if (code === 'SQLITE_CONSTRAINT_UNIQUE' && /chain_id/.test(message))
      return new AuditKitError('CHAIN_CONFLICT', `sqlite ${operation}: a chain position is already taken (${message})`, { cause: error })
    return new AuditKitError('STORE_UNAVAILABLE', `sqlite ${operation} failed: ${message}`, { cause: error })
  }

  // ---- filters -------------------------------------------------------------------------------------

  /**
   * The trigram index query for a search term, or null to scan instead: without the index, for terms under
   * 3 characters (no trigram), and for common terms, whose matches are dense enough that scanning the window
   * in order finds a page sooner than reading and sorting every candidate.
   */
  function searchCandidates(term: string, filter: EventFilter): string | null {
    if (!hasSearchIndex) return null
    const chars = [...term]
    if (chars.length < 3) return null
    // A common term is found sooner by scanning: if 1 % or more of the window's newest rows match, a page is a few
    // thousand rows away, cheaper than counting trigrams (about 1 ms each on a million rows).
    const sample = statement('search-sample', () =>
      `SELECT count(*) AS n FROM (SELECT search FROM events INDEXED BY ${TIME_INDEX} WHERE tenant_id = ? AND occurred_at >= ? AND occurred_at < ?
         ORDER BY occurred_at DESC, id DESC LIMIT ${SEARCH_SAMPLE_ROWS}) WHERE instr(search, ?) > 0`,
    ).get([filter.tenantId, instant(filter.from, 'from'), instant(filter.to, 'to'), term]) as { n: number }
    if (sample.n * 100 >= SEARCH_SAMPLE_ROWS) return null
    const trigrams = new Set<string>()
    for (let i = 0; i + 3 <= chars.length; i++) trigrams.add(chars.slice(i, i + 3).join(''))
    // An AND over trigrams that every row holds reads their whole lists (tens of ms on a million rows), so the index
    // is asked only for the rarest trigrams: each is counted up to the cap (a bounded read), the common ones dropped.
    // detail=none keeps no positions, so the term is asked as "these trigrams all occur", never as a phrase.
    const probe = statement('search-probe', () => 'SELECT count(*) AS n FROM (SELECT rowid FROM events_search WHERE events_search MATCH ? LIMIT ?)')
    const rare: { quoted: string; count: number }[] = []
    for (const trigram of [...trigrams].slice(0, MAX_PROBED_TRIGRAMS)) {
      const quoted = `"${trigram.replaceAll('"', '""')}"`
      const count = (probe.get([quoted, MAX_SEARCH_CANDIDATES + 1]) as { n: number }).n
      if (count <= MAX_SEARCH_CANDIDATES) rare.push({ quoted, count })
      // One trigram this rare already leaves few rows to test.
      if (count <= FEW_SEARCH_CANDIDATES) break
    }
    rare.sort((a, b) => a.count - b.count).splice(3)
    return rare.length === 0 ? null : rare.map(({ quoted }) => quoted).join(' AND ')
  }

  /** WHERE clause and parameters for a filter; the key names the statement shape. */
  function whereOf(filter: EventFilter, cursorBound: 'from' | 'to' | null = null): { key: string; hint: string; sql: string; params: SqlValue[] } {
    // A keyset cursor inside the window is the tighter bound on its side. Leaving the window's bound on that side out
    // lets SQLite start the index range at the cursor: with both, it starts at the window edge and walks every entry
    // up to the cursor (measured on 1M events: a deep `outcome=failure` page 40 ms -> 1 ms, a late CSV batch 530 ms -> 8 ms).
    const conditions = ['tenant_id = ?']
    const params: SqlValue[] = [filter.tenantId]
    if (cursorBound !== 'from') {
      conditions.push('occurred_at >= ?')
      params.push(instant(filter.from, 'from'))
    }
    if (cursorBound !== 'to') {
      conditions.push('occurred_at < ?')
      params.push(instant(filter.to, 'to'))
    }
    let key = cursorBound ?? ''
    for (const [field, column] of EQUALITY_FILTERS) {
      const value = filter[field]
      if (value === undefined || value === null) {
        key += '-'
        continue
      }
      key += 'e'
      conditions.push(`${column} = ?`)
      params.push(value)
    }
    let searched = false
    if (filter.q !== undefined && filter.q !== '') {
      const term = normaliseSearchTerm(filter.q)
      const candidates = searchCandidates(term, filter)
      if (candidates !== null) {
        // Only the rows holding every trigram of the term, looked up by rowid and then tested exactly.
        searched = true
        key += 'f'
        conditions.push('rowid IN (SELECT rowid FROM events_search WHERE events_search MATCH ?)')
        params.push(candidates)
      }
      // instr() is a plain substring test: `%` and `_` in the search term match themselves, no LIKE escaping needed.
      key += 'q'
      conditions.push('instr(search, ?) > 0')
      params.push(term)
    }
    const chosen = FILTER_INDEXES.find(({ filter: field }) => filter[field] !== undefined && filter[field] !== null)
    const hint = searched ? 'NOT INDEXED' : `INDEXED BY ${chosen?.index ?? TIME_INDEX}`
    return { key, hint, sql: conditions.join(' AND '), params }
  }

  function parseEvents(rows: unknown[]): AuditEvent[] {
    return (rows as EventRow[]).map((row) => eventOf(row.event))
  }

  function page(query: EventQuery): EventPage {
    const limit = Math.max(1, Math.floor(query.limit))
    const after = query.after
    const where = whereOf(query, after && instant(after.occurredAt, 'cursor') < instant(query.to, 'to') ? 'to' : null)
    const stmt = statement(`query:${where.key}:${after ? 'a' : ''}`, () =>
      `SELECT ${EVENT_BYTES} FROM events ${where.hint} WHERE ${where.sql}` +
      (after ? ' AND (occurred_at, id) < (?, ?)' : '') +
      ' ORDER BY occurred_at DESC, id DESC LIMIT ?',
    )
    const params = after ? [...where.params, instant(after.occurredAt, 'cursor'), after.id, limit + 1] : [...where.params, limit + 1]
    const items = parseEvents(stmt.all(params))
    const more = items.length > limit
    if (more) items.pop()
    const last = items[items.length - 1]
    return { items, next: more && last ? { occurredAt: last.occurredAt, id: last.id } : null }
  }

  function streamBatch(filter: EventFilter, after: EventCursor | null, batchSize: number): AuditEvent[] {
    const where = whereOf(filter, after && after.occurredAt >= instant(filter.from, 'from') ? 'from' : null)
    const stmt = statement(`stream:${where.key}:${after ? 'a' : ''}`, () =>
      `SELECT ${EVENT_BYTES} FROM events ${where.hint} WHERE ${where.sql}` +
      (after ? ' AND (occurred_at, id) > (?, ?)' : '') +
      ' ORDER BY occurred_at ASC, id ASC LIMIT ?',
    )
    const params = after ? [...where.params, after.occurredAt, after.id, batchSize] : [...where.params, batchSize]
    return parseEvents(stmt.all(params))
  }

  function facets(filter: EventFilter): Facets {
    const spans = hasFacetCounts && EQUALITY_FILTERS.every(([field]) => filter[field] === undefined || filter[field] === null) && !filter.q
      ? facetSpans(instant(filter.from, 'from'), instant(filter.to, 'to'))
      : null
    if (!spans) return countedFacets(filter)
    // Whole months and days come from facet_counts, the partial edge days from the events: exact, and over a year of
    // a million events about a thousand times less to read than counting every event.
    const tenant = filter.tenantId
    const summaryParams = [tenant, ...spans.months, tenant, ...spans.days[0], tenant, ...spans.days[1]]
    // Events appended since the last bulk count (a few thousand at most) are counted from the events for the whole
    // days; the progress mark is read inside the same statement, so both parts see one snapshot.
    const whole: Span = [spans.edges[0][1], spans.edges[1][0]]
    const edgeParams = [...spans.edges.flatMap((edge) => [tenant, ...edge]), tenant, ...whole]
    const summary = (facet: string, columns: string): string =>
      [['m', 'period >= ? AND period < ?'], ['d', 'period >= ? AND period < ?'], ['d', 'period >= ? AND period < ?']]
        .map(([grain, range]) => `SELECT ${columns} FROM facet_counts WHERE tenant_id = ? AND facet = '${facet}' AND grain = '${grain}' AND ${range}`)
        .join(' UNION ALL ')
    const edges = (columns: string, groupBy: string): string =>
      [
        ...[0, 1].map(() => `SELECT ${columns} FROM events INDEXED BY ${TIME_INDEX} WHERE tenant_id = ? AND occurred_at >= ? AND occurred_at < ? GROUP BY ${groupBy}`),
        // NOT INDEXED: read the rowid range of the newest events, never the tenant's whole time index.
        `SELECT ${columns} FROM events NOT INDEXED WHERE rowid > (SELECT counted_rowid FROM facet_progress)
           AND tenant_id = ? AND occurred_at >= ? AND occurred_at < ? GROUP BY ${groupBy}`,
      ].join(' UNION ALL ')
    const actors = statement('facets-summary-actors', () =>
      `SELECT actor_type AS type, CAST(value AS BLOB) AS id, CAST(name AS BLOB) AS name, max(newest) AS newest, sum(n) AS count FROM (
         ${summary('actor', 'actor_type, value, n, newest, name')} UNION ALL
         ${edges('actor_type, actor_id, count(*), max(occurred_at || id), actor_name', 'actor_type, actor_id')}
       ) GROUP BY actor_type, value ORDER BY count DESC, value ASC, type ASC`,
    ).all([...summaryParams, ...edgeParams]) as ActorRow[]
    const grouped = (facet: string, column: string): FacetCount[] =>
      (
        statement(`facets-summary-${facet}`, () =>
          `SELECT CAST(value AS BLOB) AS bytes, sum(n) AS count FROM (
             ${summary(facet, 'value, n')} UNION ALL ${edges(`${column}, count(*)`, column)}
           ) GROUP BY value ORDER BY count DESC, value ASC`,
        ).all([...summaryParams, ...edgeParams]) as CountRow[]
      ).map((row) => ({ value: utf8.decode(row.bytes), count: row.count }))
    return { actors: actors.map(actorFacet), actions: grouped('action', 'action'), resourceTypes: grouped('resource_type', 'resource_type') }
  }

  /**
   * Facets counted from the matching events (filters beyond the window, or a file without facet counts). The events are
   * read once, grouped by every facet column together (as many groups as combinations, not rows), and the three facets
   * are summed from those groups: a statement per facet read the window three times (a year of a 1M-event tenant
   * with `outcome=failure`: 750 ms, with an unindexed `q`: 3.8 s).
   */
  function countedFacets(filter: EventFilter): Facets {
    const where = whereOf(filter)
    const rows = statement(`facets:${where.key}`, () =>
      // The bare actor_name comes from the row holding max(): the newest name seen for that actor (in its group, then
      // of its groups). `facet` and the BLOB order keep each facet ordered as before: by count, then value bytes.
      `WITH groups AS MATERIALIZED (
         SELECT actor_type, actor_id, actor_name, max(occurred_at || id) AS newest, action, resource_type, count(*) AS n
         FROM events ${where.hint} WHERE ${where.sql} GROUP BY actor_type, actor_id, action, resource_type)
       SELECT 0 AS facet, actor_type AS type, CAST(actor_id AS BLOB) AS id, CAST(actor_name AS BLOB) AS name, max(newest) AS newest, sum(n) AS count
         FROM groups GROUP BY actor_type, actor_id
       UNION ALL SELECT 1, NULL, CAST(action AS BLOB), NULL, NULL, sum(n) FROM groups GROUP BY action
       UNION ALL SELECT 2, NULL, CAST(resource_type AS BLOB), NULL, NULL, sum(n) FROM groups GROUP BY resource_type
       ORDER BY facet, count DESC, id ASC, type ASC`,
    ).all(where.params) as (ActorRow & { facet: 0 | 1 | 2 })[]
    const grouped = (facet: 1 | 2): FacetCount[] =>
      rows.filter((row) => row.facet === facet).map((row) => ({ value: utf8.decode(row.id), count: row.count }))
    return { actors: rows.filter((row) => row.facet === 0).map(actorFacet), actions: grouped(1), resourceTypes: grouped(2) }
  }

  // ---- append ----------------------------------------------------------------------------------------

  /**
   * Appends a batch. An event whose id is already stored (a batch retried after its commit went unanswered) is
   * returned as stored, never written or sealed again, and the rest of the batch is written after the chain heads. The
   * ids are looked up only once an insert has failed on `events_by_id`: the usual batch pays nothing for it.
   */
  function append(events: readonly UnsealedEvent[], seal: Sealer): AuditEvent[] {
    if (events.length === 0) return []
    try {
      return writeBatch(events, seal, false)
    } catch (error) {
      if (!isDuplicateId(error)) throw error
      return writeBatch(events, seal, true)
    }
  }

  /** One transaction: with `lookUpIds`, the events already stored by id are read in it and only the others written. */
  function writeBatch(events: readonly UnsealedEvent[], seal: Sealer, lookUpIds: boolean): AuditEvent[] {
    const connection = open(true)
    const readHead = statement('head', () => READ_HEAD_SQL)
    const insert = statement('insert', () => INSERT_EVENT_SQL)
    // IMMEDIATE takes the write lock before the heads are read, so no other writer can move them meanwhile.
    connection.exec('BEGIN IMMEDIATE')
    try {
      let stored: Map<string, AuditEvent> | null = null
      if (lookUpIds) {
        stored = new Map()
        const byId = statement('append-stored', () => `SELECT ${EVENT_BYTES} FROM events WHERE id = ?`)
        for (const event of events) {
          const row = byId.get([event.id]) as EventRow | undefined
          if (row) stored.set(event.id, storedAsAppended(eventOf(row.event), event))
        }
      }
      const heads = new Map<string, ChainHead | null>()
      const sealed: AuditEvent[] = []
      const rows: SqlValue[][] = []
      for (const event of events) {
        const known = stored?.get(event.id)
        if (known) {
          sealed.push(known)
          continue
        }
        let head = heads.get(event.chainId)
        if (head === undefined) {
          const row = readHead.get([event.chainId]) as HeadRow | undefined
          head = row ? { seq: row.seq, hash: utf8.decode(row.hash) } : null
        }
        const placed = seal(event, head)
        if (placed.chainId !== event.chainId || placed.seq !== (head?.seq ?? 0) + 1)
          throw new AuditKitError('CHAIN_CONFLICT', `The sealer placed event ${event.id} at ${placed.chainId}#${placed.seq}, not after the chain head`)
        rows.push(eventRow(placed))
        heads.set(event.chainId, { seq: placed.seq, hash: placed.hash })
        sealed.push(placed)
      }
      if (rows.length === 0) {
        connection.exec('ROLLBACK') // every event was stored already: nothing to write
        return sealed
      }
      // All rows inserted in one tight loop after the JavaScript work (hashing, JSON): SQLite's pages stay in the CPU
      // caches between inserts (the logger's inserts ran ~30 % slower interleaved with hashing).
      let lastRow: number | bigint = 0
      for (const row of rows) lastRow = insert.run(row).lastInsertRowid
      const counted = (statement('facet-progress', () => 'SELECT counted_rowid AS n FROM facet_progress').get([]) as { n: number }).n
      if (Number(lastRow) - counted >= FACET_CATCH_UP_ROWS) catchUpFacets(connection, counted, Number(lastRow))
      connection.exec('COMMIT')
      return sealed
    } catch (error) {
      if (connection.inTransaction) connection.exec('ROLLBACK')
      throw error
    }
  }

  function writeInlineFromNowOn(reason: string): null {
    thread = null
    console.error(`[auditkit] sqlite store at ${path}: ${reason}; writing on the main thread instead`)
    return null
  }

  function writerThread(): StoreThread | null {
    if (thread === undefined) thread = createWriterThread({ path: location, busyTimeoutMs, cacheSizeKiB, searchIndex }) ?? writeInlineFromNowOn('the writer thread entry (@auditkit/core/sqlite-writer) cannot be resolved')
    return thread
  }

  async function appendOnThread(events: readonly UnsealedEvent[], seal: Sealer, current: StoreThread, hmacKey: string | Buffer | undefined): Promise<AuditEvent[]> {
    try {
      return await current.append(events, hmacKey)
    } catch (error) {
      // A thread that never came up will not: write here. A thread that failed later is replaced on the next append.
      if (current.usable) throw error
      writeInlineFromNowOn(error instanceof Error ? error.message : String(error))
      return guarded('append', () => append(events, seal))
    }
  }

  /**
   * A query or facets call on the reader thread, or inline (`run`) where there is none. The file is opened here first,
   * so that the read-only thread finds it created and its schema up to date.
   */
  async function read<O extends keyof ThreadReadArguments>(operation: O, argument: ThreadReadArguments[O], run: () => ThreadReadResults[O]): Promise<ThreadReadResults[O]> {
    // The location resolved when the store was made: the thread may start after the process changed its working directory.
    if (readerThread === undefined && !closed) readerThread = createReaderThread({ path: location, busyTimeoutMs, cacheSizeKiB, searchIndex }) ?? null
    const current = closed ? null : readerThread
    if (!current) return guarded(operation, run)
    await guarded(operation, () => undefined) // guarded opens the file first
    try {
      return await current.read(operation, argument)
    } catch (error) {
      // A thread that never came up will not: read here from now on. A thread that failed later is replaced next time.
      if (current.usable) throw error
      readerThread = null
      return guarded(operation, run)
    }
  }

  // ---- the store --------------------------------------------------------------------------------------

  const store: AuditStore & IndexedChainReader = {
    kind: 'sqlite',

    init: async () => {
      await guarded('init', () => void open())
      // The writer thread too, so that the first events are not written late by a thread still loading.
      if (thread !== null) {
        const current = writerThread()
        await current?.start()
        if (current && !current.usable) writeInlineFromNowOn('the writer thread could not start')
      }
    },

    append: (events, seal) => {
      // Only a sealer made by createSealer can be remade on the thread; any other seals here.
      const key = closed || events.length === 0 ? null : sealerKeyOf(seal)
      const current = key ? writerThread() : null
      if (!current || !key) return guarded('append', () => append(events, seal))
      return appendOnThread(events, seal, current, key.hmacKey)
    },

    query: (query) => read('query', query, () => page(query)),

    get: (tenantId, id) =>
      guarded('get', () => {
        const row = statement('get', () => `SELECT ${EVENT_BYTES} FROM events WHERE id = ? AND tenant_id = ?`).get([id, tenantId]) as
          | EventRow
          | undefined
        return row ? eventOf(row.event) : null
      }),

    facets: (filter) => read('facets', filter, () => facets(filter)),

    async *stream(filter: EventFilter, streamOptions: StreamOptions = {}): AsyncGenerator<AuditEvent> {
      const batchSize = Math.max(1, Math.floor(streamOptions.batchSize ?? DEFAULT_STREAM_BATCH))
      let after: EventCursor | null = null
      for (;;) {
        const batch = await guarded('stream', () => streamBatch(filter, after, batchSize))
        yield* batch
        const last = batch[batch.length - 1]
        if (batch.length < batchSize || !last) return
        after = { occurredAt: last.occurredAt, id: last.id }
        // Each batch is a fresh keyset query: no read transaction stays open between batches, and writers proceed.
        await yieldToLoop()
      }
    },

    readChain: (chainId, afterSeq, limit) =>
      guarded('readChain', () =>
        parseEvents(
          statement('read-chain', () => READ_CHAIN_ROWS_SQL).all([
            chainId,
            afterSeq,
            Math.max(0, Math.floor(limit)),
          ]),
        ),
      ),

    readChainIndexed: (chainId, afterSeq, limit) =>
      guarded('readChain', () => {
        const params = [chainId, afterSeq, Math.max(0, Math.floor(limit))]
        let rows: IndexedEventRow[]
        try {
          rows = statement('read-chain-indexed', () => READ_CHAIN_INDEXED_SQL).all(params) as IndexedEventRow[]
        } catch {
          // A BLOB in a column (json_array refuses it): every row of the batch is compared exactly.
          rows = statement('read-chain-rows', () => READ_CHAIN_ROWS_SQL).all(params) as IndexedEventRow[]
        }
        return rows.map((row): IndexedChainEvent => {
          const event = eventOf(row.event)
          let expected: (string | number | null)[] | null = null
          try {
            // Only the event's own content is searched: `q` would otherwise miss (or find) it by an edited text.
            expected = indexedColumnValues(event)
          } catch {
            // JSON edited into something that is no event: its hash says so.
          }
          if (expected === null) return { event, mismatched: [] }
          if (row.indexed !== undefined && utf8.decode(row.indexed) === JSON.stringify(expected)) return { event, mismatched: [] }
          const columns = statement('indexed-columns', () => INDEXED_EVENT_COLUMNS_SQL).get([row.row]) as Record<string, unknown>
          return { event, mismatched: differingColumns(columns, expected) }
        })
      }),

    chainHead: (chainId) =>
      guarded('chainHead', () => {
        const row = statement('head', () => READ_HEAD_SQL).get([chainId]) as HeadRow | undefined
        return row ? { seq: row.seq, hash: utf8.decode(row.hash) } : null
      }),

    listChains: () =>
      guarded('listChains', () =>
        // Chains with checkpoints too: one whose events were all deleted still has to be verified (and found cut).
        // As bytes: the driver cuts text at a NUL, and 'acme\0x' would be listed as 'acme' (twice, and never itself).
        (
          statement('chains', () =>
            'SELECT CAST(value AS BLOB) AS value FROM (SELECT chain_id AS value FROM events UNION SELECT chain_id FROM checkpoints) ORDER BY value',
          ).all([]) as { value: Bytes }[]
        ).map((row) => utf8.decode(row.value)),
      ),

    getState: <T>(scope: string, key: string) =>
      guarded('getState', () => {
        const row = statement('state-get', () => 'SELECT CAST(value AS BLOB) AS value FROM state WHERE scope = ? AND key = ?').get([scope, key]) as
          | Pick<StateRow, 'value'>
          | undefined
        return row ? (JSON.parse(utf8.decode(row.value)) as T) : null
      }),

    putState: (scope, key, value) =>
      guarded('putState', () => {
        const json = JSON.stringify(value)
        if (json === undefined) throw new AuditKitError('INVALID_BODY', `State ${scope}/${key} must be a JSON value`)
        statement('state-put', () =>
          `INSERT INTO state (scope, key, value, updated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
        ).run([scope, key, json, new Date(now()).toISOString()])
      }),

    listState: <T>(scope: string) =>
      guarded('listState', () =>
        // The key as bytes: it is a tenant id (SIEM settings), and the driver would cut 'acme\0x' to 'acme', whose
        // exporter would then run with the other tenant's settings.
        (
          statement('state-list', () => 'SELECT CAST(key AS BLOB) AS key, CAST(value AS BLOB) AS value FROM state WHERE scope = ? ORDER BY key').all([
            scope,
          ]) as StateRow[]
        ).map((row) => ({ key: utf8.decode(row.key), value: JSON.parse(utf8.decode(row.value)) as T })),
      ),

    acquireLease: (name, owner, ttlMs) =>
      guarded('acquireLease', () => {
        const at = now()
        // One atomic upsert: taken only if free, expired, or already ours.
        const result = statement('lease-acquire', () =>
          `INSERT INTO leases (name, owner, expires_at) VALUES (?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
           WHERE leases.owner = excluded.owner OR leases.expires_at <= ?`,
        ).run([name, owner, at + Math.max(0, ttlMs), at])
        return result.changes > 0
      }),

    releaseLease: (name, owner) =>
      guarded('releaseLease', () => {
        statement('lease-release', () => 'DELETE FROM leases WHERE name = ? AND owner = ?').run([name, owner])
      }),

    appendCheckpoint: (checkpoint) =>
      guarded('appendCheckpoint', () => {
        const row = statement('checkpoint-get', () => `SELECT ${CHECKPOINT_COLUMNS} FROM checkpoints WHERE chain_id = ? AND seq = ?`).get([
          checkpoint.chainId,
          checkpoint.seq,
        ]) as CheckpointRow | undefined
        const existing = row ? checkpointOf(row) : undefined
        if (existing) {
          // Idempotent for the same checkpoint; a different one at the same position is a fork.
          if (existing.signature === checkpoint.signature && existing.hash === checkpoint.hash) return
          throw new AuditKitError('INTEGRITY_ERROR', `A different checkpoint already exists for ${checkpoint.chainId}#${checkpoint.seq}`)
        }
        statement('checkpoint-insert', () =>
          `INSERT INTO checkpoints (chain_id, seq, hash, created_at, prev_signature, signature, key_id) VALUES (?, ?, ?, ?, ?, ?, ?)`,
        ).run([
          checkpoint.chainId,
          checkpoint.seq,
          checkpoint.hash,
          checkpoint.createdAt,
          checkpoint.prevSignature,
          checkpoint.signature,
          checkpoint.keyId,
        ])
      }),

    listCheckpoints: (chainId, range = {}) =>
      guarded('listCheckpoints', () =>
        (
          statement('checkpoint-list', () => `SELECT ${CHECKPOINT_COLUMNS} FROM checkpoints WHERE chain_id = ? AND seq > ? AND seq <= ? ORDER BY seq`).all([
            chainId,
            range.afterSeq ?? -1,
            range.toSeq ?? Number.MAX_SAFE_INTEGER,
          ]) as CheckpointRow[]
        ).map(checkpointOf),
      ),

    lastCheckpoint: (chainId) =>
      guarded('lastCheckpoint', () => {
        const row = statement('checkpoint-last', () => `SELECT ${CHECKPOINT_COLUMNS} FROM checkpoints WHERE chain_id = ? ORDER BY seq DESC LIMIT 1`).get([chainId]) as
          | CheckpointRow
          | undefined
        return row ? checkpointOf(row) : null
      }),

    close: () => {
      // A second call waits for the first: the thread may still be writing what was sent to it.
      closing ??= (async () => {
        closed = true
        // Appends already sent to the thread are written before it ends; reads already sent are answered.
        await Promise.all([thread?.close(), readerThread?.close()])
        return guarded('close', () => {
          statements.clear()
          // The driver closes the file only once its statements are garbage-collected, so SQLite's own checkpoint at
          // the last close may never come: the database file alone (copied as evidence) would miss the WAL's events.
          let unfolded: unknown = null
          try {
            if (db && !readonly && path !== ':memory:') db.exec('PRAGMA wal_checkpoint(PASSIVE)')
          } catch (error) {
            // The events are durable in the WAL and closing goes on, but the file alone is no longer complete (a full
            // disk, typically): said once closed, rather than letting a copy of the file alone silently miss events.
            unfolded = error
          }
          db?.close()
          db = null
          if (unfolded !== null)
            throw new AuditKitError(
              'STORE_UNAVAILABLE',
              `sqlite close: the write-ahead log could not be folded into ${path} (${unfolded instanceof Error ? unfolded.message : String(unfolded)}); no event is lost, they are in ${path}-wal, which the next open reads: keep both files together (a copy of ${path} alone misses them)`,
              { cause: unfolded },
            )
        })
      })()
      return closing
    },
  }
  return store
}

/**
 * Every text as bytes (see `Bytes`): the driver cuts text at a NUL, and a checkpoint of 'acme\0x' would claim to be
 * one of 'acme'.
 */
const CHECKPOINT_COLUMNS = ['chain_id', 'seq', 'hash', 'created_at', 'prev_signature', 'signature', 'key_id']
  .map((column) => (column === 'seq' ? column : `CAST(${column} AS BLOB) AS ${column}`))
  .join(', ')

function checkpointOf(row: CheckpointRow): SignedCheckpoint {
  return {
    chainId: utf8.decode(row.chain_id),
    seq: row.seq,
    hash: utf8.decode(row.hash),
    createdAt: utf8.decode(row.created_at),
    prevSignature: utf8.decode(row.prev_signature),
    signature: utf8.decode(row.signature),
    keyId: utf8.decode(row.key_id),
  }
}

/**
 * A read-only connection to an existing file. A file in WAL mode needs its `-shm` beside it, which SQLite creates even
 * for a reader: on read-only media (evidence on a write-protected disk) that fails. There, a file with no pending WAL
 * (what `close()` leaves) is opened `immutable`, which needs neither; one whose WAL holds events cannot be read whole
 * without it, and the error says to copy both files to writable storage.
 */
function openReadOnly(path: string): Db {
  const url = pathToFileURL(resolve(path)).href
  let connection: Db | null = null
  try {
    connection = new Database(`${url}?mode=ro`)
    connection.prepare('PRAGMA user_version').get([]) // opening is lazy: the first read is where the -shm is needed
    return connection
  } catch (error) {
    connection?.close()
    const wal = statSync(`${resolve(path)}-wal`, { throwIfNoEntry: false })
    if (wal && wal.size > 0)
      throw new AuditKitError(
        'STORE_UNAVAILABLE',
        `Cannot open ${path} read-only together with its write-ahead log (${path}-wal), which holds events not yet in the file; on read-only media, copy both files to writable storage first`,
        { cause: error },
      )
    return new Database(`${url}?mode=ro&immutable=1`)
  }
}
