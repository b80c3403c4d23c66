import { AuditKitError } from '../../errors.js'
import type { ActorType, AuditEvent } from '../../event/schema.js'
import { normaliseSearchTerm } from '../../store/search-text.js'
import type { ActorFacet, EventCursor, EventFilter, EventPage, EventQuery, FacetCount, Facets } from '../../store/types.js'
import { fromEventDocument, type EventDocument } from './documents.js'
import { FILTER_INDEXES, TIME_INDEX } from './indexes.js'

/** A MongoDB query document. Every key is chosen here; user input only ever appears as a compared value. */
export type MongoFilter = { [key: string]: unknown }
export type MongoSort = { [field: string]: 1 | -1 }
export type MongoProjection = { [field: string]: 0 | 1 }

/** Reads need only the event's JSON text: the native copies exist to steer the query, not to be sent back. */
export const EVENT_ONLY: MongoProjection = { _id: 0, event: 1 }

/** What `find` needs for one page, newest first. */
export interface MongoPageQuery {
  filter: MongoFilter
  sort: MongoSort
  /** Name of the index to use. */
  hint: string
  projection: MongoProjection
  /** One more than the page size: the extra document only tells whether another page follows. */
  limit: number
}

/** Newest first, as the admin API lists events; `_id` (the event id) breaks ties within a millisecond. */
export const NEWEST_FIRST: MongoSort = { occurredAtDate: -1, _id: -1 }
/** Oldest first, for export. */
export const OLDEST_FIRST: MongoSort = { occurredAtDate: 1, _id: 1 }

/** Exact-match filters of the admin API and the document field each compares. */
const EXACT_FIELDS = {
  actor: 'actor.id',
  actorType: 'actor.type',
  action: 'action',
  resourceType: 'resource.type',
  resourceId: 'resource.id',
  outcome: 'outcome',
} as const satisfies Partial<Record<keyof EventFilter, string>>

/**
 * Escapes every regular-expression metacharacter, so `q` is always matched literally. A NUL becomes `\x00`:
 * MongoDB refuses patterns that contain the byte itself.
 */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\0/g, '\\x00')
}

function requireString(value: unknown, name: string): string {
  if (typeof value !== 'string') {
    throw new AuditKitError('INVALID_QUERY', `${name} must be a string`, {
      details: [{ path: name, reason: 'invalid_type', message: `${name} must be a string` }],
    })
  }
  return value
}

function toDate(value: unknown, name: string): Date {
  const text = requireString(value, name)
  const date = new Date(text)
  if (Number.isNaN(date.getTime())) {
    throw new AuditKitError('INVALID_RANGE', `${name} is not an ISO 8601 time: ${JSON.stringify(text.slice(0, 64))}`, {
      details: [{ path: name, reason: 'invalid_format', message: `${name} must be an ISO 8601 time` }],
    })
  }
  return date
}

/**
 * The MongoDB filter for an `EventFilter`. Pure.
 * Values are type-checked and compared with `$eq`, so an object such as `{ $ne: 'x' }` can never act as an operator;
 * `q` is lower-cased and escaped into a literal regular expression over the document's `search` text.
 */
export function toMongoFilter(filter: EventFilter): MongoFilter {
  const mongo: MongoFilter = {
    tenantId: { $eq: requireString(filter.tenantId, 'tenantId') },
    occurredAtDate: { $gte: toDate(filter.from, 'from'), $lt: toDate(filter.to, 'to') },
  }
  for (const [name, field] of Object.entries(EXACT_FIELDS) as [keyof typeof EXACT_FIELDS, string][]) {
    const value: unknown = filter[name]
    if (value !== undefined && value !== null) mongo[field] = { $eq: requireString(value, name) }
  }
  if (filter.q !== undefined && filter.q !== null) {
    const q = requireString(filter.q, 'q')
    // A plain substring of the lower-cased search text, exactly as every store matches `q`.
    if (q !== '') mongo.search = { $regex: escapeRegExp(normaliseSearchTerm(q)) }
  }
  return mongo
}

/**
 * Documents strictly after `after` in the given order (keyset pagination on `(occurredAtDate, _id)`).
 * The separate `$lte`/`$gte` bound lets the index scan start at the cursor; the `$or` only settles ties in that millisecond.
 */
export function keysetCondition(after: EventCursor, order: 'newest-first' | 'oldest-first'): MongoFilter {
  const malformed = (): AuditKitError => new AuditKitError('INVALID_CURSOR', 'The pagination cursor is malformed')
  if (typeof after !== 'object' || after === null || typeof after.occurredAt !== 'string' || typeof after.id !== 'string') throw malformed()
  const at = new Date(after.occurredAt)
  if (Number.isNaN(at.getTime())) throw malformed()
  const { id } = after
  const [bound, beyond] = order === 'newest-first' ? ['$lte', '$lt'] : ['$gte', '$gt']
  return { $and: [{ occurredAtDate: { [bound]: at } }, { $or: [{ occurredAtDate: { [beyond]: at } }, { _id: { [beyond]: id } }] }] }
}

function and(base: MongoFilter, extra: MongoFilter | undefined): MongoFilter {
  return extra === undefined ? base : { $and: [base, extra] }
}

/**
 * The index a filter's queries use: the first filter set, most selective first (the order SQLite uses too),
 * else the time index. Hinted so that a deep page is always one bounded range scan in index order.
 */
export function indexFor(filter: EventFilter): string {
  const chosen = FILTER_INDEXES.find(({ filter: name }) => filter[name] !== undefined && filter[name] !== null)
  return chosen?.name ?? TIME_INDEX.name
}

/** The page size a `limit` means (the caller bounds it; this only rounds it to a whole number of at least 1). */
export function pageSize(limit: number): number {
  return Math.max(1, Math.floor(limit))
}

/** Filter, sort and limit of one page of `store.query()`. Pure. */
export function toMongoQuery(query: EventQuery): MongoPageQuery {
  if (typeof query.limit !== 'number' || Number.isNaN(query.limit)) throw new AuditKitError('INVALID_QUERY', 'limit must be a number')
  return {
    filter: and(toMongoFilter(query), query.after === undefined || query.after === null ? undefined : keysetCondition(query.after, 'newest-first')),
    sort: NEWEST_FIRST,
    hint: indexFor(query),
    projection: EVENT_ONLY,
    limit: pageSize(query.limit) + 1,
  }
}

/** Filter and sort for export (oldest first), resuming after `after` when given. Pure. */
export function toMongoExportQuery(
  filter: EventFilter,
  after?: EventCursor,
): { filter: MongoFilter; sort: MongoSort; hint: string; projection: MongoProjection } {
  return {
    filter: and(toMongoFilter(filter), after === undefined ? undefined : keysetCondition(after, 'oldest-first')),
    sort: OLDEST_FIRST,
    hint: indexFor(filter),
    projection: EVENT_ONLY,
  }
}

/**
 * Distinct chain ids in the order `listChains` answers: by their UTF-8 bytes, the order MongoDB and SQLite compare
 * strings in. JavaScript's `<` compares UTF-16 code units and would put a character past U+FFFF (an emoji) before
 * one in U+E000-U+FFFF (a full-width letter), unlike the SQLite store. Pure.
 */
export function chainOrder(chainIds: Iterable<string>): string[] {
  return [...new Set(chainIds)].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
}

export function cursorOf(event: Pick<AuditEvent, 'occurredAt' | 'id'>): EventCursor {
  return { occurredAt: event.occurredAt, id: event.id }
}

/** The page for documents fetched with `toMongoQuery(query)` (up to `limit + 1` of them). Pure. */
export function toEventPage(documents: readonly Pick<EventDocument, 'event'>[], limit: number): EventPage {
  limit = pageSize(limit)
  const items = documents.slice(0, limit).map(fromEventDocument)
  const last = items[items.length - 1]
  return { items, next: documents.length > limit && last !== undefined ? cursorOf(last) : null }
}

/** What the facet aggregation answers: one document with one array per menu. */
export interface FacetAggregationResult {
  actors: { _id: { type: ActorType; id: string }; name?: string | null; count: number }[]
  actions: { _id: string; count: number }[]
  resourceTypes: { _id: string; count: number }[]
}

/**
 * The aggregation pipeline behind `store.facets(filter)`. Pure.
 * One pass over the filtered window: `$sort` right after `$match` is served by the same index (every index ends with
 * `(occurredAtDate, _id)`), so `$first` picks each actor's newest name without an in-memory sort.
 */
export function toFacetPipeline(filter: EventFilter): MongoFilter[] {
  const counted = (field: string): MongoFilter[] => [
    { $group: { _id: `$${field}`, count: { $sum: 1 } } },
    { $sort: { count: -1, _id: 1 } },
  ]
  return [
    { $match: toMongoFilter(filter) },
    { $sort: NEWEST_FIRST },
    {
      $facet: {
        actors: [
          { $group: { _id: { type: '$actor.type', id: '$actor.id' }, name: { $first: '$actor.name' }, count: { $sum: 1 } } },
          { $sort: { count: -1, '_id.id': 1, '_id.type': 1 } },
        ],
        actions: counted('action'),
        resourceTypes: counted('resource.type'),
      },
    },
  ]
}

/** The `Facets` for the document `toFacetPipeline` produces. Pure. */
export function fromFacetResult(result: FacetAggregationResult | undefined): Facets {
  const counts = (rows: { _id: string; count: number }[] | undefined): FacetCount[] =>
    (rows ?? []).map((row) => ({ value: row._id, count: row.count }))
  return {
    actors: (result?.actors ?? []).map((row): ActorFacet => {
      const facet: ActorFacet = { type: row._id.type, id: row._id.id, count: row.count }
      if (typeof row.name === 'string') facet.name = row.name
      return facet
    }),
    actions: counts(result?.actions),
    resourceTypes: counts(result?.resourceTypes),
  }
}
