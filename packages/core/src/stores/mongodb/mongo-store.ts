import { setTimeout as sleep } from 'node:timers/promises'
import type { Collection, Db, Document, Filter, MongoClient, MongoClientOptions, WriteConcernSettings } from 'mongodb'
import { AuditKitError } from '../../errors.js'
import type { AuditEvent, UnsealedEvent } from '../../event/schema.js'
import type { ChainHead, Sealer } from '../../integrity/hash.js'
import type { IndexedChainReader } from '../../integrity/source.js'
import type { AuditStore, EventCursor, EventFilter, SignedCheckpoint, StreamOptions } from '../../store/types.js'
import { storedAsAppended } from '../../store/stored-by-id.js'
import { documentMismatches, fromEventDocument, toEventDocument, type EventDocument } from './documents.js'
import { insertedBeforeFailure, isDuplicateKeyError, isTransientError, toStoreError } from './errors.js'
import { CHECKPOINT_INDEXES, EVENT_INDEXES, STATE_INDEXES, type MongoIndexSpec } from './indexes.js'
import { EVENT_ONLY, chainOrder, cursorOf, fromFacetResult, indexFor, toEventPage, toFacetPipeline, toMongoExportQuery, toMongoQuery, type FacetAggregationResult } from './query.js'

export interface MongoStoreOptions {
  /**
   * A `MongoClient` you own (connected or not). The store uses it and never closes it. Give either this or `uri`.
   * @default undefined
   */
  client?: MongoClient
  /**
   * Connection string, e.g. `mongodb://host1,host2/?replicaSet=rs0`. The store creates its own client from it,
   * connects on `init()` and closes it on `close()`. Give either this or `client`.
   * @default undefined
   */
  uri?: string
  /**
   * Options for the client the store creates from `uri` (TLS, pool size, timeouts, ...).
   * @default {}
   */
  clientOptions?: MongoClientOptions
  /**
   * Database holding the store's collections.
   * @default 'auditkit'
   */
  database?: string
  /**
   * Prefix of the collection names: `<prefix>events`, `<prefix>state`, `<prefix>leases`, `<prefix>checkpoints`.
   * @default 'auditkit_'
   */
  collectionPrefix?: string
  /**
   * Write concern of every write. `majority` keeps acknowledged events through a primary failover.
   * @default { w: 'majority' }
   */
  writeConcern?: WriteConcernSettings
  /**
   * Create the indexes in `init()`. Turn off when the application's database user may not create indexes
   * (an administrator then creates them once, see docs/mongodb.md).
   * @default true
   */
  createIndexes?: boolean
  /**
   * Attempts of one append when other writers keep taking the chain head (then `CHAIN_CONFLICT`)
   * or transient errors persist (then `STORE_UNAVAILABLE`). The logger retries the batch after that.
   * @default 10
   */
  maxAppendAttempts?: number
  /**
   * Retries of a read or a small write after a transient error (elections, network), on top of the driver's own retry.
   * @default 3
   */
  transientRetries?: number
  /**
   * First delay between attempts; it doubles with each attempt (with jitter), up to one second.
   * @default 25
   */
  retryDelayMs?: number
  /**
   * The clock leases expire by, in ms. Keep the clocks of app instances in sync (NTP): a lease is taken by comparing
   * the holder's expiry with this clock.
   * @default Date.now
   */
  now?: () => number
}

interface StateDocument {
  scope: string
  key: string
  /** JSON text: any key is allowed in the value (including `$`-prefixed or dotted ones), and reads parse it back. */
  value: string
  updatedAt: Date
}

interface LeaseDocument {
  _id: string
  owner: string
  /** Epoch ms. */
  expiresAt: number
}

type CheckpointDocument = SignedCheckpoint

interface Collections {
  events: Collection<EventDocument>
  state: Collection<StateDocument>
  leases: Collection<LeaseDocument>
  checkpoints: Collection<CheckpointDocument>
}

const DEFAULT_STREAM_BATCH = 1000

/**
 * The production store: MongoDB through the official driver (an optional peer dependency, loaded only when a store
 * is created from a `uri`). Several app instances may write to one chain: the unique `(chainId, seq)` index decides
 * every race and the loser re-seals after the new head.
 */
/** A chain's documents after `afterSeq`, in order, at most `limit`: whole, or with only the fields `projection` keeps. */
async function chainDocuments(
  events: Collection<EventDocument>,
  chainId: string,
  afterSeq: number,
  limit: number,
  projection?: Document,
): Promise<(Pick<EventDocument, 'event'> & Document)[]> {
  const count = Math.floor(limit)
  // limit(0) would mean "no limit" to MongoDB.
  if (!(count > 0)) return []
  return events
    .find({ chainId: { $eq: chainId }, seq: { $gt: Number(afterSeq) } }, { sort: { seq: 1 }, limit: count, ...(projection ? { projection } : {}) })
    .toArray()
}

export function createMongoStore(options: MongoStoreOptions): AuditStore {
  const { client: givenClient, uri } = options
  if ((givenClient === undefined) === (uri === undefined)) {
    throw new AuditKitError('INVALID_OPTIONS', 'createMongoStore: give exactly one of `client` or `uri`')
  }
  if (uri !== undefined && (typeof uri !== 'string' || !/^mongodb(\+srv)?:\/\//.test(uri))) {
    throw new AuditKitError('INVALID_OPTIONS', 'createMongoStore: `uri` must be a mongodb:// or mongodb+srv:// connection string')
  }
  const databaseName = options.database ?? 'auditkit'
  const prefix = options.collectionPrefix ?? 'auditkit_'
  const writeConcern = options.writeConcern ?? { w: 'majority' }
  const shouldCreateIndexes = options.createIndexes ?? true
  const maxAppendAttempts = positiveInteger(options.maxAppendAttempts ?? 10, 'maxAppendAttempts')
  const transientRetries = Math.max(0, Math.floor(options.transientRetries ?? 3))
  const retryDelayMs = Math.max(0, options.retryDelayMs ?? 25)
  const now = options.now ?? Date.now
  const headReadConcern = writeConcern.w === undefined || writeConcern.w === 'majority' ? 'majority' : 'local'
  if (typeof databaseName !== 'string' || databaseName === '' || /[/\\. "$]/.test(databaseName)) {
    throw new AuditKitError('INVALID_OPTIONS', 'createMongoStore: `database` must be a valid MongoDB database name')
  }
  if (typeof prefix !== 'string' || prefix.includes('$')) {
    throw new AuditKitError('INVALID_OPTIONS', 'createMongoStore: `collectionPrefix` must be a string without `$`')
  }

  let client: MongoClient | null = givenClient ?? null
  let collections: Collections | null = null
  let ready: Promise<Collections> | null = null
  let closed = false

  function backoff(attempt: number): number {
    const ceiling = Math.min(1000, retryDelayMs * 2 ** Math.min(attempt - 1, 10))
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2)
  }

  async function connect(): Promise<Collections> {
    if (client === null) {
      let driver: typeof import('mongodb')
      try {
        driver = await import('mongodb')
      } catch (error) {
        throw new AuditKitError('STORE_UNAVAILABLE', 'The MongoDB store needs the `mongodb` package: npm install mongodb', { cause: error })
      }
      // close() may have run while the driver loaded: a client made now would never be closed (its pool and
      // monitoring would keep the process alive).
      if (closed) throw closedError()
      client = new driver.MongoClient(uri as string, options.clientOptions)
    }
    const connecting = client
    await connecting.connect()
    // close() ran while connecting (and closed the client if it owned it): nothing is opened.
    if (closed) throw closedError()
    const db: Db = connecting.db(databaseName)
    const opened: Collections = {
      events: db.collection<EventDocument>(`${prefix}events`, { writeConcern, ignoreUndefined: true }),
      // Settings, leases and checkpoints are read to decide what to write next (the checkpointer signs after the newest
      // checkpoint it reads): from the primary whatever the client's read preference, or a secondary's stale answer
      // would fork the signed sequence and read as tampering.
      state: db.collection<StateDocument>(`${prefix}state`, { writeConcern, readPreference: 'primary' }),
      leases: db.collection<LeaseDocument>(`${prefix}leases`, { writeConcern, readPreference: 'primary' }),
      checkpoints: db.collection<CheckpointDocument>(`${prefix}checkpoints`, { writeConcern, readPreference: 'primary' }),
    }
    if (shouldCreateIndexes) {
      // createIndexes is idempotent for identical specs, and safe when several instances start at once.
      await createIndexes(opened.events, EVENT_INDEXES)
      await createIndexes(opened.state, STATE_INDEXES)
      await createIndexes(opened.checkpoints, CHECKPOINT_INDEXES)
    }
    return opened
  }

  async function createIndexes<T extends Document>(collection: Collection<T>, specs: readonly MongoIndexSpec[]): Promise<void> {
    try {
      await collection.createIndexes(specs.map(({ name, key, unique }) => (unique ? { name, key, unique } : { name, key })))
    } catch (error) {
      const code = (error as { code?: unknown }).code
      if (code === 85 || code === 86) {
        throw new AuditKitError(
          'STORE_UNAVAILABLE',
          `mongodb init: an index on ${collection.collectionName} has the same name or keys as AuditKit's but other options; drop it and restart (${(error as Error).message})`,
          { cause: error },
        )
      }
      throw error
    }
  }

  /** Connects and creates the indexes on first use, so every method works without an explicit `init()`. */
  async function open(): Promise<Collections> {
    if (closed) throw closedError()
    if (collections) return collections
    ready ??= connect().then(
      (opened) => (collections = opened),
      (error: unknown) => {
        ready = null
        throw error
      },
    )
    return ready
  }

  /** Runs `work`, retrying transient errors, and surfaces every failure as an `AuditKitError`. */
  function guarded<T>(operation: string, work: (c: Collections) => Promise<T>): Promise<T> {
    return retrying(operation, async () => work(await open()))
  }

  async function retrying<T>(operation: string, work: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work()
      } catch (error) {
        if (attempt > transientRetries || !isTransientError(error)) throw toStoreError(error, operation)
        await sleep(backoff(attempt))
      }
    }
  }

  // ---- append ----------------------------------------------------------------------------------------

  async function readHead(events: Collection<EventDocument>, chainId: string): Promise<ChainHead | null> {
    // From the primary, and majority-committed when writes are: never seal after a head a failover could roll back.
    // (With a weaker write concern a majority read could lag this instance's own writes and conflict forever.)
    const head = await events.findOne(
      { chainId: { $eq: chainId } },
      { sort: { seq: -1 }, projection: { _id: 0, seq: 1, hash: 1 }, readConcern: { level: headReadConcern }, readPreference: 'primary' },
    )
    return head ? { seq: head.seq, hash: head.hash } : null
  }

  function sealAfter(events: readonly UnsealedEvent[], head: ChainHead | null, seal: Sealer): AuditEvent[] {
    let current = head
    return events.map((event) => {
      const placed = seal(event, current)
      if (placed.chainId !== event.chainId || placed.seq !== (current?.seq ?? 0) + 1 || placed.id !== event.id) {
        throw new AuditKitError('CHAIN_CONFLICT', `The sealer placed event ${event.id} at ${placed.chainId}#${placed.seq}, not after the chain head`)
      }
      current = { seq: placed.seq, hash: placed.hash }
      return placed
    })
  }

  /** One chain's part of an append: what is already stored, what is still to write. */
  interface ChainWrite {
    chainId: string
    written: Map<string, AuditEvent>
    pending: UnsealedEvent[]
  }

  /**
   * Looks the pending events up by id (an earlier attempt whose outcome was unknown, a network error or a timeout,
   * may have written them: they are returned as stored, never written twice), then seals the rest after the head.
   */
  async function sealPending(events: Collection<EventDocument>, chain: ChainWrite, seal: Sealer): Promise<AuditEvent[]> {
    const ids = chain.pending.map((event) => event.id)
    const stored = await events.find({ _id: { $in: ids } }, { readPreference: 'primary', projection: { event: 1 } }).toArray()
    for (const document of stored) {
      const incoming = chain.pending.find((event) => event.id === document._id)
      chain.written.set(document._id, incoming ? storedAsAppended(fromEventDocument(document), incoming) : fromEventDocument(document))
    }
    chain.pending = chain.pending.filter((event) => !chain.written.has(event.id))
    if (chain.pending.length === 0) return []
    return sealAfter(chain.pending, await readHead(events, chain.chainId), seal)
  }

  /** Inserts a chain's sealed events; when another writer took the head first, re-seals after the new head and retries. */
  async function writeChain(events: Collection<EventDocument>, chain: ChainWrite, firstSealed: AuditEvent[], seal: Sealer): Promise<void> {
    let conflicts = 0
    let lastError: unknown
    for (let attempt = 1; attempt <= maxAppendAttempts; attempt++) {
      try {
        const sealed = attempt === 1 ? firstSealed : await sealPending(events, chain, seal)
        if (sealed.length === 0) return
        try {
          await events.insertMany(sealed.map(toEventDocument), { ordered: true })
          for (const event of sealed) chain.written.set(event.id, event)
          return
        } catch (error) {
          // An ordered insert stops at the first failure: the documents before it are in the chain as sealed.
          for (const event of sealed.slice(0, insertedBeforeFailure(error))) chain.written.set(event.id, event)
          chain.pending = chain.pending.filter((event) => !chain.written.has(event.id))
          throw error
        }
      } catch (error) {
        lastError = error
        if (isDuplicateKeyError(error)) conflicts++
        else if (!isTransientError(error)) throw error
        await sleep(backoff(attempt))
      }
    }
    if (isDuplicateKeyError(lastError)) {
      throw new AuditKitError(
        'CHAIN_CONFLICT',
        `mongodb append: chain ${chain.chainId} kept moving (${conflicts} conflicts in ${maxAppendAttempts} attempts); retry the batch`,
        { cause: lastError },
      )
    }
    throw toStoreError(lastError, `append (gave up after ${maxAppendAttempts} attempts)`)
  }

  async function append(events: readonly UnsealedEvent[], seal: Sealer): Promise<AuditEvent[]> {
    if (events.length === 0) return []
    const { events: collection } = await open()
    const chains = new Map<string, ChainWrite>()
    for (const event of events) {
      const chain = chains.get(event.chainId)
      if (chain) chain.pending.push(event)
      else chains.set(event.chainId, { chainId: event.chainId, written: new Map(), pending: [event] })
    }
    // Seal every chain before writing any: a sealer that throws leaves the store untouched.
    const sealed = new Map<ChainWrite, AuditEvent[]>()
    for (const chain of chains.values()) sealed.set(chain, await retrying('append', () => sealPending(collection, chain, seal)))
    for (const [chain, first] of sealed) await writeChain(collection, chain, first, seal)
    return events.map((event) => {
      const stored = chains.get(event.chainId)?.written.get(event.id)
      if (!stored) throw new AuditKitError('INTERNAL', `mongodb append lost event ${event.id}`)
      return stored
    })
  }

  // ---- the store --------------------------------------------------------------------------------------

  const store: AuditStore & IndexedChainReader = {
    kind: 'mongodb',

    init: () => guarded('init', async () => undefined),

    async append(events, seal) {
      try {
        return await append(events, seal)
      } catch (error) {
        throw toStoreError(error, 'append')
      }
    },

    async query(query) {
      // Translated first: bad input fails with its own code, before any round trip.
      const { filter, sort, hint, limit, projection } = toMongoQuery(query)
      return guarded('query', async ({ events }) => {
        const documents = await events.find(filter as Filter<EventDocument>, { sort, hint, limit, projection }).toArray()
        return toEventPage(documents, query.limit)
      })
    },

    get: (tenantId, id) =>
      guarded('get', async ({ events }) => {
        if (typeof tenantId !== 'string' || typeof id !== 'string') return null
        const document = await events.findOne({ _id: { $eq: id }, tenantId: { $eq: tenantId } }, { projection: EVENT_ONLY })
        return document ? fromEventDocument(document) : null
      }),

    async facets(filter) {
      const pipeline = toFacetPipeline(filter)
      return guarded('facets', async ({ events }) => {
        const options = { allowDiskUse: true, hint: indexFor(filter) }
        const [result] = await events.aggregate<FacetAggregationResult>(pipeline, options).toArray()
        return fromFacetResult(result)
      })
    },

    async *stream(filter: EventFilter, streamOptions: StreamOptions = {}): AsyncGenerator<AuditEvent> {
      const batchSize = Math.max(1, Math.floor(streamOptions.batchSize ?? DEFAULT_STREAM_BATCH))
      let after: EventCursor | undefined
      toMongoExportQuery(filter) // bad input fails before any round trip
      for (let failures = 0; ; ) {
        const { events } = await guarded('stream', async (c) => c)
        const query = toMongoExportQuery(filter, after)
        // One cursor, fetched `batchSize` documents per round trip: memory stays bounded however large the export.
        const cursor = events.find(query.filter as Filter<EventDocument>, { sort: query.sort, hint: query.hint, projection: query.projection, batchSize })
        try {
          for await (const document of cursor) {
            const event = fromEventDocument(document)
            yield event
            after = cursorOf(event)
            failures = 0
          }
          return
        } catch (error) {
          // After an election, a dropped connection or an idle-cursor timeout, resume after the last event yielded.
          if (++failures > transientRetries || !(isTransientError(error) || (error as { code?: unknown }).code === 43)) {
            throw toStoreError(error, 'stream')
          }
          await sleep(backoff(failures))
        } finally {
          await cursor.close().catch(() => undefined)
        }
      }
    },

    readChain: (chainId, afterSeq, limit) =>
      guarded('readChain', async ({ events }) => (await chainDocuments(events, chainId, afterSeq, limit, EVENT_ONLY)).map(fromEventDocument)),

    readChainIndexed: (chainId, afterSeq, limit) =>
      guarded('readChain', async ({ events }) =>
        // Whole documents: the copies that filters and facets read are compared with the hashed event.
        (await chainDocuments(events, chainId, afterSeq, limit)).map((document) => ({ event: fromEventDocument(document), mismatched: documentMismatches(document) })),
      ),

    chainHead: (chainId) => guarded('chainHead', ({ events }) => readHead(events, chainId)),

    listChains: () =>
      guarded('listChains', async ({ events, checkpoints }) => {
        // Chains with checkpoints too: one whose events were all deleted still has to be verified (and found cut).
        return chainOrder([...(await events.distinct('chainId')), ...(await checkpoints.distinct('chainId'))])
      }),

    getState: <T>(scope: string, key: string) =>
      guarded('getState', async ({ state }) => {
        const document = await state.findOne({ scope: { $eq: scope }, key: { $eq: key } })
        return document ? (JSON.parse(document.value) as T) : null
      }),

    putState: (scope, key, value) =>
      guarded('putState', async ({ state }) => {
        const json = JSON.stringify(value)
        if (json === undefined) throw new AuditKitError('INVALID_BODY', `State ${scope}/${key} must be a JSON value`)
        const upsert = () =>
          state.updateOne({ scope: { $eq: scope }, key: { $eq: key } }, { $set: { scope, key, value: json, updatedAt: new Date(now()) } }, { upsert: true })
        try {
          await upsert()
        } catch (error) {
          // Two first writes of one key raced: the other inserted it, so this one now updates.
          if (!isDuplicateKeyError(error)) throw error
          await upsert()
        }
      }),

    listState: <T>(scope: string) =>
      guarded('listState', async ({ state }) => {
        const documents = await state.find({ scope: { $eq: scope } }, { sort: { key: 1 } }).toArray()
        return documents.map((document) => ({ key: document.key, value: JSON.parse(document.value) as T }))
      }),

    acquireLease: (name, owner, ttlMs) =>
      guarded('acquireLease', async ({ leases }) => {
        const at = now()
        try {
          // One atomic upsert: it matches only a lease that is ours or expired; a lease held by another owner
          // makes the upsert insert a second document with the same `_id`, which the server refuses.
          await leases.updateOne(
            { _id: requireName(name), $or: [{ owner: { $eq: owner } }, { expiresAt: { $lte: at } }] },
            { $set: { owner, expiresAt: at + Math.max(0, ttlMs) } },
            { upsert: true },
          )
          return true
        } catch (error) {
          if (isDuplicateKeyError(error)) return false
          throw error
        }
      }),

    releaseLease: (name, owner) =>
      guarded('releaseLease', async ({ leases }) => {
        await leases.deleteOne({ _id: requireName(name), owner: { $eq: owner } })
      }),

    appendCheckpoint: (checkpoint) =>
      guarded('appendCheckpoint', async ({ checkpoints }) => {
        const position = { chainId: { $eq: checkpoint.chainId }, seq: { $eq: checkpoint.seq } }
        const ensureSame = (existing: CheckpointDocument): void => {
          // Idempotent for the same checkpoint; a different one at the same position is a fork.
          if (existing.signature === checkpoint.signature && existing.hash === checkpoint.hash) return
          throw new AuditKitError('INTEGRITY_ERROR', `A different checkpoint already exists for ${checkpoint.chainId}#${checkpoint.seq}`)
        }
        const existing = await checkpoints.findOne(position)
        if (existing) return ensureSame(existing)
        try {
          // A copy: insertOne adds `_id` to what it is given.
          await checkpoints.insertOne(checkpointOf(checkpoint))
        } catch (error) {
          const raced = isDuplicateKeyError(error) ? await checkpoints.findOne(position) : null
          if (!raced) throw error
          ensureSame(raced)
        }
      }),

    listCheckpoints: (chainId, range = {}) =>
      guarded('listCheckpoints', async ({ checkpoints }) => {
        const seq = { $gt: range.afterSeq ?? -1, $lte: range.toSeq ?? Number.MAX_SAFE_INTEGER }
        const documents = await checkpoints.find({ chainId: { $eq: chainId }, seq }, { sort: { seq: 1 } }).toArray()
        return documents.map(checkpointOf)
      }),

    lastCheckpoint: (chainId) =>
      guarded('lastCheckpoint', async ({ checkpoints }) => {
        const document = await checkpoints.findOne({ chainId: { $eq: chainId } }, { sort: { seq: -1 } })
        return document ? checkpointOf(document) : null
      }),

    async close() {
      if (closed) return
      closed = true
      const owned = givenClient === undefined ? client : null
      collections = null
      ready = null
      client = null
      if (owned) {
        try {
          await owned.close()
        } catch (error) {
          throw toStoreError(error, 'close')
        }
      }
    },
  }
  return store
}

function closedError(): AuditKitError {
  return new AuditKitError('STORE_UNAVAILABLE', 'The mongodb store is closed')
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new AuditKitError('INVALID_OPTIONS', `createMongoStore: ${name} must be a positive integer`)
  return value
}

function requireName(name: unknown): string {
  if (typeof name !== 'string' || name === '') throw new AuditKitError('INVALID_QUERY', 'A lease name must be a non-empty string')
  return name
}

/** Exactly a checkpoint's fields: what is written, and what is read back without MongoDB's `_id`. */
function checkpointOf(row: CheckpointDocument): SignedCheckpoint {
  return {
    chainId: row.chainId,
    seq: row.seq,
    hash: row.hash,
    createdAt: row.createdAt,
    prevSignature: row.prevSignature,
    signature: row.signature,
    keyId: row.keyId,
  }
}
