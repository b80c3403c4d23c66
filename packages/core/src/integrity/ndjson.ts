import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { AuditKitError } from '../errors.js'
import type { AuditEvent } from '../event/schema.js'
import type { AuditStore, SignedCheckpoint } from '../store/types.js'
import type { ChainSource, SeqRange } from './source.js'

/** Format name in the first line of every export. */
export const NDJSON_FORMAT = 'auditkit-chain'
export const NDJSON_VERSION = 1

/** First line of an export. */
export interface NdjsonHeaderLine {
  kind: typeof NDJSON_FORMAT
  version: typeof NDJSON_VERSION
  exportedAt: string
}
/** Starts a chain's section: its checkpoints, then its events in seq order. */
export interface NdjsonChainLine extends SeqRange {
  kind: 'chain'
  chainId: string
  /** The chain head when the export began; events after it are not in the file. */
  head: { seq: number; hash: string } | null
}
export type NdjsonCheckpointLine = SignedCheckpoint & { kind: 'checkpoint' }
/** Every field of the stored event, as stored. */
export type NdjsonEventLine = AuditEvent & { kind: 'event' }
export type NdjsonLine = NdjsonHeaderLine | NdjsonChainLine | NdjsonCheckpointLine | NdjsonEventLine

export interface NdjsonExportOptions {
  /** The store whose chains are exported (`createSqliteStore(...)`, `createMongoStore(...)`). Required. */
  store: Pick<AuditStore, 'readChain' | 'chainHead' | 'listChains' | 'listCheckpoints'>
  /**
   * Chains to export (one per tenant: the tenant id).
   * @default every chain of the store
   */
  chainIds?: string[]
  /**
   * Seq range per chain, e.g. from `seqRangeForTimes`.
   * @default the whole chain up to its head when the export begins
   */
  range?: (chainId: string, head: { seq: number; hash: string } | null) => Promise<SeqRange> | SeqRange
  /**
   * Events read from the store at a time; memory stays bounded by it.
   * @default 1000
   */
  batchSize?: number
  /**
   * Stamps the header line.
   * @default () => new Date()
   */
  clock?: () => Date
}

/**
 * Streams chains as NDJSON lines (each ending in `\n`): a header, then per chain a `chain` line, its checkpoints up to
 * the exported range's end, and every field of every event in the range (plus the event just before it, whose hash
 * the range's first event links to). The file verifies offline with
 * `auditkit verify --ndjson` and the public key alone.
 */
export async function* exportNdjson(options: NdjsonExportOptions): AsyncGenerator<string> {
  const { store } = options
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? 1000))
  const header: NdjsonHeaderLine = { kind: NDJSON_FORMAT, version: NDJSON_VERSION, exportedAt: (options.clock?.() ?? new Date()).toISOString() }
  yield `${JSON.stringify(header)}\n`
  for (const chainId of options.chainIds ?? (await store.listChains())) {
    // Head before checkpoints: every checkpoint read afterwards is covered by events up to the head.
    const head = await store.chainHead(chainId)
    const range = options.range ? await options.range(chainId, head) : { fromSeq: 1, toSeq: head?.seq ?? 0 }
    const toSeq = Math.min(range.toSeq, head?.seq ?? 0)
    const chain: NdjsonChainLine = { kind: 'chain', chainId, fromSeq: range.fromSeq, toSeq, head }
    yield `${JSON.stringify(chain)}\n`
    for (const checkpoint of await store.listCheckpoints(chainId)) {
      if (checkpoint.seq <= toSeq) yield `${JSON.stringify({ kind: 'checkpoint', ...checkpoint })}\n`
    }
    // The event before the range rides along as the anchor its first event links to.
    let after = Math.max(0, range.fromSeq - 2)
    while (after < toSeq) {
      const batch = await store.readChain(chainId, after, Math.min(batchSize, toSeq - after))
      for (const event of batch) if (event.seq <= toSeq) yield `${JSON.stringify({ kind: 'event', ...event })}\n`
      const last = batch[batch.length - 1]
      if (!last) break
      after = Math.max(after + 1, last.seq)
    }
  }
}

/** A chain source over an NDJSON export file; every call reads the file again, so memory stays flat. */
export interface NdjsonSource extends ChainSource {
  /** The seq range the file declares for a chain (a partial export starts after seq 1). */
  range(chainId: string): Promise<SeqRange | null>
}

export interface NdjsonSourceOptions {
  /** The export file, as written by `exportNdjson` or `auditkit export`. Required. */
  path: string
}

/** Reads an export for `verifyChain`/`verifyAll` (and `auditkit verify --ndjson`); the file is not loaded whole. */
export function createNdjsonSource({ path }: NdjsonSourceOptions): NdjsonSource {
  async function* lines(): AsyncGenerator<NdjsonLine> {
    const input = createReadStream(path, { encoding: 'utf8' })
    const reader = createInterface({ input, crlfDelay: Infinity })
    let number = 0
    let headerSeen = false
    const notAnExport = (): AuditKitError =>
      new AuditKitError('INTEGRITY_ERROR', `${path} is not an AuditKit chain export (its first line has no "kind": "${NDJSON_FORMAT}")`)
    try {
      for await (const text of reader) {
        number++
        if (text.trim() === '') continue
        const line = parseLine(text, number)
        // The first line that is not blank: an empty file, or blank lines before events, is not an export either.
        if (!headerSeen) {
          if (line.kind !== NDJSON_FORMAT) throw notAnExport()
          headerSeen = true
        }
        yield line
      }
      if (!headerSeen) throw notAnExport()
    } catch (error) {
      if (error instanceof AuditKitError) throw error
      throw new AuditKitError('INTEGRITY_ERROR', `Cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
    } finally {
      reader.close()
      input.destroy()
    }
  }

  return {
    async listChains() {
      // Chains named by their events and checkpoints too, as a store lists them: removing a chain's `chain` line must
      // not leave its (possibly edited) events out of a verification of the whole file.
      const chains = new Set<string>()
      for await (const line of lines()) {
        if (line.kind === NDJSON_FORMAT) continue
        const chainId: unknown = line.chainId
        if (typeof chainId === 'string') chains.add(chainId)
      }
      return [...chains]
    },
    async range(chainId) {
      for await (const line of lines()) if (line.kind === 'chain' && line.chainId === chainId) return { fromSeq: line.fromSeq, toSeq: line.toSeq }
      return null
    },
    async listCheckpoints(chainId) {
      const checkpoints: SignedCheckpoint[] = []
      for await (const line of lines()) {
        if (line.kind !== 'checkpoint' || line.chainId !== chainId) continue
        const { kind: _kind, ...checkpoint } = line
        checkpoints.push(checkpoint)
      }
      return checkpoints.sort((a, b) => a.seq - b.seq)
    },
    async *events(chainId, afterSeq) {
      for await (const line of lines()) {
        if (line.kind !== 'event' || line.chainId !== chainId || !(line.seq > afterSeq)) continue
        const { kind: _kind, ...event } = line
        yield event
      }
    },
  }
}

function parseLine(text: string, number: number): NdjsonLine {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new AuditKitError('INTEGRITY_ERROR', `Line ${number} is not JSON`)
  }
  const kind = typeof value === 'object' && value !== null ? (value as { kind?: unknown }).kind : undefined
  if (kind !== NDJSON_FORMAT && kind !== 'chain' && kind !== 'checkpoint' && kind !== 'event')
    throw new AuditKitError('INTEGRITY_ERROR', `Line ${number} has no known "kind" (${NDJSON_FORMAT}, chain, checkpoint or event)`)
  return value as NdjsonLine
}

/**
 * Maps a time window `[from, to)` to the seq range of a chain by binary search on `occurredAt`.
 * Seq order follows time order up to clock skew between writing processes, so the edges are approximate by that skew.
 */
export async function seqRangeForTimes(
  store: Pick<AuditStore, 'readChain' | 'chainHead'>,
  chainId: string,
  window: { from: string; to: string },
): Promise<SeqRange> {
  const head = await store.chainHead(chainId)
  if (!head) return { fromSeq: 1, toSeq: 0 }
  const firstAtOrAfter = async (time: string): Promise<number> => {
    let low = 1
    let high = head.seq + 1
    while (low < high) {
      const middle = Math.floor((low + high) / 2)
      const [event] = await store.readChain(chainId, middle - 1, 1)
      if (!event || event.occurredAt >= time) high = middle
      else low = middle + 1
    }
    return low
  }
  return { fromSeq: await firstAtOrAfter(window.from), toSeq: (await firstAtOrAfter(window.to)) - 1 }
}
