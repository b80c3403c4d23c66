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
}

/** The store methods verification needs. */
export type ChainStore = Pick<AuditStore, 'readChain' | 'listChains' | 'listCheckpoints'>

export interface StoreChainSourceOptions {
  store: ChainStore
  /**
   * Events read from the store at a time; memory stays bounded by it.
   * @default 1000
   */
  batchSize?: number
}

/** Reads a store's chains in bounded batches, so memory stays flat whatever the chain length. */
export function storeChainSource({ store, batchSize = 1000 }: StoreChainSourceOptions): ChainSource {
  return {
    listChains: () => store.listChains(),
    listCheckpoints: (chainId) => store.listCheckpoints(chainId),
    async *events(chainId, afterSeq) {
      let after = afterSeq
      for (;;) {
        const batch = await store.readChain(chainId, after, batchSize)
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
