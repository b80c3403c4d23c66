export { createMongoStore } from './mongo-store.js'
export type { MongoStoreOptions } from './mongo-store.js'
export { fromEventDocument, toEventDocument } from './documents.js'
export type { EventDocument } from './documents.js'
export { CHAIN_INDEX, CHECKPOINT_INDEXES, EVENT_INDEXES, FILTER_INDEXES, STATE_INDEXES, TIME_INDEX } from './indexes.js'
export type { MongoIndexSpec } from './indexes.js'
export {
  EVENT_ONLY,
  NEWEST_FIRST,
  OLDEST_FIRST,
  cursorOf,
  escapeRegExp,
  fromFacetResult,
  indexFor,
  keysetCondition,
  pageSize,
  toEventPage,
  toFacetPipeline,
  toMongoExportQuery,
  toMongoFilter,
  toMongoQuery,
} from './query.js'
export type { FacetAggregationResult, MongoFilter, MongoPageQuery, MongoProjection, MongoSort } from './query.js'
