import type { AuditEvent } from '../event/schema.js'
import type { AuditStore, SignedCheckpoint } from '../store/types.js'

/** A seq range of one chain. */
export interface SeqRange {
  fromSeq: number
  /** Inclusive; `fromSeq - 1` for an empty range. */
  toSeq: number
}

/** What verification reads: a store, or an exported NDJSON file (`createNdjsonSource`). */
export interface ChainSource {
  /** Chain ids present. */
  listChains(): Promise<string[]>
  /** The chain's checkpoints, ascending by `seq`. */
  listCheckpoints(chainId: string): Promise<SignedCheckpoint[]>
  /** The chain's events with `seq > afterSeq` in the source's order (ascending `seq` for stores, file order for NDJSON). */
  events(chainId: string, afterSeq: number): AsyncIterable<AuditEvent>
  /** The range the source holds when it is partial (an export of a time window); verification defaults to it. */
  range?(chainId: string): Promise<SeqRange | null>
  /**
   * For an event `events` yielded: the store's indexed columns that disagree with its hashed content (see
   * {@link IndexedChainReader}), or an empty list / undefined when they agree or the source keeps no such columns.
   */
  indexMismatches?(event: AuditEvent): readonly string[] | undefined
}

/** An event as stored, with the names of the columns beside it that no longer say what its hashed content says. */
export interface IndexedChainEvent {
  event: AuditEvent
  mismatched: string[]
}

/**
 * A store that keeps copies of event fields in indexed columns beside the hashed event (the SQLite store): its lists,
 * filters, facets and exports select events by those columns, so an edit of a column alone would hide an event from
 * a filtered view while the hashed event still verifies. Verification reads the chain through this to compare them.
 */
export interface IndexedChainReader {
  /** `readChain`, with each event's disagreeing columns. */
  readChainIndexed(chainId: string, afterSeq: number, limit: number): Promise<IndexedChainEvent[]>
}

/** The store methods verification needs. */
export type ChainStore = Pick<AuditStore, 'readChain' | 'listChains' | 'listCheckpoints'> & Partial<IndexedChainReader>

export interface StoreChainSourceOptions {
  /** The store whose chains are read (`createSqliteStore(...)`, `createMongoStore(...)`). Required. */
  store: ChainStore
  /**
   * Events read from the store at a time; memory stays bounded by it.
   * @default 1000
   */
  batchSize?: number
}

/** Reads a store's chains in bounded batches, so memory stays flat whatever the chain length. */
export function storeChainSource({ store, batchSize = 1000 }: StoreChainSourceOptions): ChainSource {
  // Only events whose columns disagree are kept: the common case costs no map entry.
  const mismatches = new WeakMap<AuditEvent, string[]>()
  const read = async (chainId: string, after: number): Promise<AuditEvent[]> => {
    if (typeof store.readChainIndexed !== 'function') return store.readChain(chainId, after, batchSize)
    const rows = await store.readChainIndexed(chainId, after, batchSize)
    for (const { event, mismatched } of rows) if (mismatched.length > 0) mismatches.set(event, mismatched)
    return rows.map((row) => row.event)
  }
  return {
    listChains: () => store.listChains(),
    listCheckpoints: (chainId) => store.listCheckpoints(chainId),
    indexMismatches: (event) => mismatches.get(event),
    async *events(chainId, afterSeq) {
      let after = afterSeq
      for (;;) {
        const batch = await read(chainId, after)
        yield* batch
        const last = batch[batch.length - 1]
        if (!last || batch.length < batchSize) return
        // Keyset on the stored seq: a row whose seq was edited backwards cannot make this loop repeat itself.
        after = Math.max(after + 1, last.seq)
      }
    },
  }
}

/** Accepts a store or a ready-made source. */
export function toChainSource(source: ChainSource | ChainStore): ChainSource {
  return 'events' in source ? source : storeChainSource({ store: source })
}
