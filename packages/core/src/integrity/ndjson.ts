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
  /**
   * The chains the file holds, each in a section of its own that starts with its `chain` line: a file cut at a line
   * boundary before a chain's section would otherwise verify as an intact export of fewer chains (or of none).
   * Absent in files written before it was added: those declare nothing.
   */
  chains?: string[]
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
  const exportedAt = (options.clock?.() ?? new Date()).toISOString()
  const chainIds = options.chainIds ?? (await store.listChains())
  const header: NdjsonHeaderLine = { kind: NDJSON_FORMAT, version: NDJSON_VERSION, exportedAt, chains: chainIds }
  yield `${JSON.stringify(header)}\n`
  for (const chainId of chainIds) {
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
  // Every pass reads the file from its start: each line's keys are checked for repeats once, by the first pass to reach it.
  let keysCheckedThrough = 0
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
        const line = parseLine(text, number, number > keysCheckedThrough)
        keysCheckedThrough = Math.max(keysCheckedThrough, number)
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
        if (line.kind === NDJSON_FORMAT) {
          // Declared chains too: a chain whose whole section was cut off is then found missing (see `range`).
          for (const chainId of line.chains ?? []) chains.add(chainId)
          continue
        }
        const chainId: unknown = line.chainId
        if (typeof chainId === 'string') chains.add(chainId)
      }
      return [...chains]
    },
    async range(chainId) {
      let declared = false
      let named = false
      for await (const line of lines()) {
        if (line.kind === NDJSON_FORMAT) {
          if (line.chains?.includes(chainId)) declared = true
          continue
        }
        if (line.kind === 'chain' && line.chainId === chainId) return { fromSeq: line.fromSeq, toSeq: line.toSeq }
        if (line.chainId === chainId) named = true
      }
      // A declared chain of which no line is left: its section was cut off (a chain line removed alone, with the
      // chain's other lines still there, is verified by those lines, as before).
      if (declared && !named)
        throw new AuditKitError(
          'INTEGRITY_ERROR',
          `${path} declares chain ${JSON.stringify(chainId)} in its first line but holds no "chain" line for it: the file was cut short or edited`,
        )
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

function parseLine(text: string, number: number, checkKeys: boolean): NdjsonLine {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new AuditKitError('INTEGRITY_ERROR', `Line ${number} is not JSON`)
  }
  const repeated = checkKeys ? repeatedKey(text) : null
  if (repeated !== null)
    throw new AuditKitError(
      'INTEGRITY_ERROR',
      `Line ${number} holds the key ${JSON.stringify(repeated)} twice in one object: JSON readers differ on which value counts (this verifier would check the last), so the file is refused`,
    )
  const kind = typeof value === 'object' && value !== null ? (value as { kind?: unknown }).kind : undefined
  if (kind !== NDJSON_FORMAT && kind !== 'chain' && kind !== 'checkpoint' && kind !== 'event')
    throw new AuditKitError('INTEGRITY_ERROR', `Line ${number} has no known "kind" (${NDJSON_FORMAT}, chain, checkpoint or event)`)
  // A line of no chain would be left out of every chain's verification unseen: the newest checkpoint could go that way.
  if (kind !== NDJSON_FORMAT && typeof (value as { chainId?: unknown }).chainId !== 'string')
    throw new AuditKitError('INTEGRITY_ERROR', `Line ${number} (a ${kind} line) has no "chainId" string`)
  const chains = kind === NDJSON_FORMAT ? (value as { chains?: unknown }).chains : undefined
  if (chains !== undefined && !(Array.isArray(chains) && chains.every((chainId) => typeof chainId === 'string')))
    throw new AuditKitError('INTEGRITY_ERROR', `Line ${number} declares "chains" that are not a list of chain ids`)
  return value as NdjsonLine
}

/** Space, tab, line feed, carriage return: the whitespace JSON allows between tokens. */
const isJsonSpace = (code: number): boolean => code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COLON = 0x3a

/**
 * The first key that one object of `text` (valid JSON) holds twice, or null. JSON.parse keeps the last value, as jq and
 * Python do; a reader that keeps the first would show a value other than the one whose hash was verified. Keys are
 * compared decoded (`"\u0061ction"` is `"action"`). One pass over the text, a set per open object.
 */
function repeatedKey(text: string): string | null {
  // One entry per open bracket: the keys seen so far in an object, null for an array.
  const open: (Set<string> | null)[] = []
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      const start = i
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i)
        if (d === BACKSLASH) i++
        else if (d === QUOTE) break
      }
      const keys = open[open.length - 1]
      if (!keys) continue
      // In valid JSON a string inside an object is a key exactly when a colon follows it.
      let next = i + 1
      while (next < text.length && isJsonSpace(text.charCodeAt(next))) next++
      if (text.charCodeAt(next) !== COLON) continue
      const raw = text.slice(start, i + 1)
      const key = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1)
      if (keys.has(key)) return key
      keys.add(key)
    } else if (c === 0x7b /* { */) open.push(new Set())
    else if (c === 0x5b /* [ */) open.push(null)
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) open.pop()
  }
  return null
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
