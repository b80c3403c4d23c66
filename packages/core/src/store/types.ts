import type { ActorType, AuditEvent, Outcome, UnsealedEvent } from '../event/schema.js'
import type { ChainHead, Sealer } from '../integrity/hash.js'

/** Filters every query, facet and export takes. `tenantId`, `from` and `to` are always set. */
export interface EventFilter {
  /** Only this tenant's events: every read is scoped. */
  tenantId: string
  /**
   * Inclusive lower bound: an ISO 8601 time as the caller gave it, not normalised (it may lack milliseconds or carry
   * an offset). Stores parse both bounds as instants and reject one that does not parse with `INVALID_RANGE`.
   */
  from: string
  /** Exclusive upper bound, read like `from`. */
  to: string
  /** Exact `actor.id`. */
  actor?: string
  actorType?: ActorType
  /** Exact action. */
  action?: string
  resourceType?: string
  /** Exact `resource.id`. */
  resourceId?: string
  outcome?: Outcome
  /** Case-insensitive substring of actor id/name/email, action, resource type/id/name, target names and IP. */
  q?: string
}

/** A keyset position: the last item of the previous page. Order is `occurredAt` desc, then `id` desc. */
export interface EventCursor {
  occurredAt: string
  id: string
}

export interface EventQuery extends EventFilter {
  /** Page size, already bounded by the caller. */
  limit: number
  /** Return only events strictly after this position in the (newest-first) order. */
  after?: EventCursor
}

export interface EventPage {
  items: AuditEvent[]
  /** Position to continue from, or null on the last page. */
  next: EventCursor | null
}

export interface FacetCount {
  value: string
  count: number
}

export interface ActorFacet {
  type: ActorType
  id: string
  name?: string
  count: number
}

/**
 * What is present in the filtered window, for the filter menus. Sorted by count desc, then value (actors: id, then
 * type) in code-point order, not a locale's. One actor per (type, id), named after its newest event.
 */
export interface Facets {
  actors: ActorFacet[]
  actions: FacetCount[]
  resourceTypes: FacetCount[]
}

/** A signed integrity checkpoint (see `integrity/checkpoints`). */
export interface SignedCheckpoint {
  chainId: string
  seq: number
  hash: string
  /** ISO time the checkpoint was made. */
  createdAt: string
  /** Signature of the previous checkpoint of this chain, or '' for the first. */
  prevSignature: string
  /** Base64 Ed25519 signature over the canonical form of the fields above. */
  signature: string
  /** Identifies the public key that verifies it. */
  keyId: string
}

export interface StreamOptions {
  /**
   * Rows read from the database at a time; memory stays bounded by it.
   * @default 1000
   */
  batchSize?: number
}

/** Bounds of {@link AuditStore.listCheckpoints}; each is optional. */
export interface CheckpointRange {
  /** Only checkpoints with `seq` greater than this. */
  afterSeq?: number
  /** Only checkpoints with `seq` up to this, included. */
  toSeq?: number
}

/**
 * Where events live. Every implementation passes `runStoreContract` from `@auditkit/test-utils`.
 * All reads are scoped by tenant; all methods may reject with `AuditKitError('STORE_UNAVAILABLE')`.
 */
export interface AuditStore {
  /** Short name for logs and errors, e.g. `sqlite`. */
  readonly kind: string
  /** Creates tables and indexes; idempotent and safe to call from several processes. */
  init(): Promise<void>
  /**
   * Appends events atomically, each placed after its chain's current head by `seal`
   * (read the head and write in one transaction, or retry on a unique `(chainId, seq)` conflict).
   * Resolves with the sealed events in input order. An event whose id is already stored (a batch retried after a
   * lost answer) is returned as stored, not written or sealed again; the others are written after their chain heads.
   * A sealed event anywhere but right after its chain head is refused with `CHAIN_CONFLICT`.
   */
  append(events: readonly UnsealedEvent[], seal: Sealer): Promise<AuditEvent[]>
  /** Newest first: `occurredAt` desc, `id` desc. */
  query(query: EventQuery): Promise<EventPage>
  /** One event of this tenant, or null. */
  get(tenantId: string, id: string): Promise<AuditEvent | null>
  facets(filter: EventFilter): Promise<Facets>
  /** Oldest first (`occurredAt` asc, `id` asc) for export, in bounded batches. */
  stream(filter: EventFilter, options?: StreamOptions): AsyncIterable<AuditEvent>
  /** Events of one chain with `seq > afterSeq`, ascending, at most `limit`. */
  readChain(chainId: string, afterSeq: number, limit: number): Promise<AuditEvent[]>
  /** The last event's position in a chain, or null for an empty chain. */
  chainHead(chainId: string): Promise<ChainHead | null>
  /** All chain ids present (one per tenant): with events, or with signed checkpoints (their events may have been deleted). */
  listChains(): Promise<string[]>

  /** Small JSON state (settings, export checkpoints) by scope and key. */
  getState<T>(scope: string, key: string): Promise<T | null>
  putState(scope: string, key: string, value: unknown): Promise<void>
  listState<T>(scope: string): Promise<{ key: string; value: T }[]>
  /** Takes or renews a named lease for `ttlMs` if it is free, expired, or already held by `owner`. */
  acquireLease(name: string, owner: string, ttlMs: number): Promise<boolean>
  releaseLease(name: string, owner: string): Promise<void>

  appendCheckpoint(checkpoint: SignedCheckpoint): Promise<void>
  /** Checkpoints of a chain, ascending by `seq`; with `range`, only those with `afterSeq < seq <= toSeq`. */
  listCheckpoints(chainId: string, range?: CheckpointRange): Promise<SignedCheckpoint[]>
  /** The chain's checkpoint with the highest `seq`, or null: what a checkpointer extends (without reading them all). */
  lastCheckpoint(chainId: string): Promise<SignedCheckpoint | null>

  /** Closes the store; every later call (but `close()`, which resolves again) rejects with `STORE_UNAVAILABLE`. */
  close(): Promise<void>
}
