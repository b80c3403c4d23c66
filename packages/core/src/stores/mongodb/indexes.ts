import type { EventFilter } from '../../store/types.js'

/** An index the MongoDB store creates (the shape `createIndexes` takes). */
export interface MongoIndexSpec {
  name: string
  key: { [field: string]: 1 | -1 }
  unique?: boolean
}

/** Every event index ends with the page order, so a filtered page (first or deep) is one range scan, never a sort. */
const PAGE_ORDER = { occurredAtDate: -1, _id: -1 } as const

/** The time window alone (and `q`, which no index can serve): the default list, facets and export. */
export const TIME_INDEX: MongoIndexSpec = { name: 'events_by_time', key: { tenantId: 1, ...PAGE_ORDER } }

/**
 * One index per filter of the admin API, `tenantId` first. Listed most selective first: a query uses the index of
 * the first filter it sets.
 */
export const FILTER_INDEXES = [
  { filter: 'resourceId', name: 'events_by_resource_id', key: { tenantId: 1, 'resource.id': 1, ...PAGE_ORDER } },
  { filter: 'actor', name: 'events_by_actor', key: { tenantId: 1, 'actor.id': 1, ...PAGE_ORDER } },
  { filter: 'action', name: 'events_by_action', key: { tenantId: 1, action: 1, ...PAGE_ORDER } },
  { filter: 'resourceType', name: 'events_by_resource_type', key: { tenantId: 1, 'resource.type': 1, ...PAGE_ORDER } },
  { filter: 'actorType', name: 'events_by_actor_type', key: { tenantId: 1, 'actor.type': 1, ...PAGE_ORDER } },
  { filter: 'outcome', name: 'events_by_outcome', key: { tenantId: 1, outcome: 1, ...PAGE_ORDER } },
] as const satisfies readonly (MongoIndexSpec & { filter: keyof EventFilter })[]

/**
 * One position per chain: the guarantee that several writers can never fork a chain (the loser of a race gets a
 * duplicate-key error, re-reads the head and retries). Also serves `chainHead`, `readChain` and `listChains`.
 * The event id needs no index of its own: it is the document's `_id`.
 */
export const CHAIN_INDEX: MongoIndexSpec = { name: 'events_by_chain', key: { chainId: 1, seq: 1 }, unique: true }

export const EVENT_INDEXES: readonly MongoIndexSpec[] = [
  TIME_INDEX,
  ...FILTER_INDEXES.map(({ name, key }) => ({ name, key })),
  CHAIN_INDEX,
]
export const STATE_INDEXES: readonly MongoIndexSpec[] = [{ name: 'state_by_scope_key', key: { scope: 1, key: 1 }, unique: true }]
export const CHECKPOINT_INDEXES: readonly MongoIndexSpec[] = [
  { name: 'checkpoints_by_chain', key: { chainId: 1, seq: 1 }, unique: true },
]
