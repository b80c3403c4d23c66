import type { KeyObject } from 'node:crypto'
import { AuditKitError } from '../errors.js'
import { EVENT_FIELDS, type AuditEvent } from '../event/schema.js'
import { sameStoredText } from '../store/stored-text.js'
import type { SignedCheckpoint } from '../store/types.js'
import { verifyCheckpointSignature } from './checkpoint.js'
import { GENESIS_HASH, computeEventHash } from './hash.js'
import { toPublicKey, type KeyInput } from './keys.js'
import { toChainSource, type ChainSource, type ChainStore, type SeqRange } from './source.js'

/**
 * Why a chain is broken:
 * - `modified`: an event's content no longer matches its hash, or a re-hashed event no longer matches the next link
 *   or a signed checkpoint;
 * - `deleted`: a gap in `seq`;
 * - `reordered`: events sit at positions other than where they were sealed;
 * - `tail_truncated`: the chain ends before the seq a signed checkpoint covers;
 * - `forged_checkpoint`: a checkpoint's signature does not verify with the public key;
 * - `missing_checkpoint`: a gap in the linked checkpoint sequence, or more events past the last checkpoint than allowed.
 */
export type BreakReason = 'modified' | 'deleted' | 'reordered' | 'tail_truncated' | 'forged_checkpoint' | 'missing_checkpoint'

export const BREAK_REASONS = [
  'modified',
  'deleted',
  'reordered',
  'tail_truncated',
  'forged_checkpoint',
  'missing_checkpoint',
] as const satisfies readonly BreakReason[]

/** The first broken link of a chain. */
export interface ChainBreak {
  reason: BreakReason
  /** Position of the break in the chain. */
  seq: number
  /** What was found, in a sentence. */
  message: string
  /** The event found at that position, when there is one. */
  eventId?: string
}

export interface VerifyChainOptions {
  /** A store (`createSqliteStore(...)`, `createMongoStore(...)`) or a source such as `createNdjsonSource({ path })`. Required. */
  source: ChainSource | ChainStore
  /** The chain to check (one chain per tenant: the tenant id). Required. */
  chainId: string
  /**
   * Ed25519 public key (PEM or `KeyObject`) that checks checkpoint signatures.
   * @default undefined (signatures unchecked; checkpoint links and hashes are still compared)
   */
  publicKey?: KeyInput
  /**
   * Public keys by `keyId`, for chains signed by several keys over time. A checkpoint naming another key id is forged.
   * @default undefined
   */
  publicKeys?: Record<string, KeyInput>
  /**
   * The HMAC key the chain was written with (`hmacKey` of the logger).
   * @default undefined (plain SHA-256)
   */
  hmacKey?: string | Buffer
  /**
   * First seq to check; its link to the event before it is checked too.
   * @default 1
   */
  fromSeq?: number
  /**
   * Last seq to check.
   * @default the end of the chain
   */
  toSeq?: number
  /**
   * Report `missing_checkpoint` when more events than this follow the last checkpoint (set it above the
   * checkpointer's `everyEvents` plus what `everyMs` lets accumulate). Catches the deletion of the newest checkpoints.
   * @default undefined (not checked)
   */
  maxUncheckpointed?: number
  /**
   * Checkpoints held outside the database, e.g. the `audit_checkpoint_signed` records the SIEM received. Each must
   * verify with the public key and be present in the source; the chain must reach it and match its hash. This catches
   * the deletion of the newest checkpoints with the events after them, or of a whole chain.
   * @default []
   */
  anchors?: readonly SignedCheckpoint[]
}

export interface ChainVerification {
  chainId: string
  ok: boolean
  /** The first broken link, or null. */
  firstBreak: ChainBreak | null
  /** Events whose hash and link were checked. */
  eventsChecked: number
  /** Seq range checked: `to` is the last seq reached (null when none). */
  range: { from: number; to: number | null }
  /** The last event reached. */
  head: { seq: number; hash: string } | null
  checkpoints: {
    count: number
    /** Seq of the newest checkpoint. */
    lastSeq: number | null
    /** `verified` when a public key checked every signature. */
    signatures: 'verified' | 'unchecked'
  }
  /** True when hashes were checked as HMAC with the given key. */
  keyed: boolean
  /** Limits of what this run could detect (no public key, events past the last checkpoint, ...). */
  warnings: string[]
}

export interface VerifyAllOptions extends Omit<VerifyChainOptions, 'chainId'> {
  /**
   * Chains to check.
   * @default every chain of the source
   */
  chainIds?: string[]
}

export interface VerifyAllResult {
  ok: boolean
  chains: ChainVerification[]
}

/** How far around a broken link the verifier looks to tell a reordering from a deletion or a modification. */
const LOOKAROUND = 64

/** Every top-level field a stored event has: the hash covers all of them but `hash` itself. */
const STORED_FIELDS: ReadonlySet<string> = new Set(EVENT_FIELDS)

/** A top-level field no hash covers (added to a stored event after it was sealed), or undefined. */
function unsealedField(event: AuditEvent): string | undefined {
  for (const key of Object.keys(event)) if (!STORED_FIELDS.has(key)) return key
  return undefined
}

/**
 * Recomputes a chain and checks its links and signed checkpoints; returns the first broken link with its reason.
 * Reads the source in bounded batches. Throws `AuditKitError('INTEGRITY_ERROR' | 'STORE_UNAVAILABLE')` only when the
 * source cannot be read; a broken chain is a result, not an error.
 */
export async function verifyChain(options: VerifyChainOptions): Promise<ChainVerification> {
  const { chainId, hmacKey } = options
  const source = toChainSource(options.source)
  const keys = resolveKeys(options)
  const declared = declaredRange(chainId, (await source.range?.(chainId)) ?? null)
  const fromSeq = positiveInteger(options.fromSeq ?? declared?.fromSeq ?? 1, 'fromSeq')
  // A range the source declares (an export's `chain` line) is not a bound of the walk: the file says it, not the
  // person verifying, and an edited `toSeq` must not hide a cut tail. What is declared must be there (see the end).
  const toSeq = options.toSeq === undefined ? undefined : nonNegativeInteger(options.toSeq, 'toSeq')
  // Checked whether toSeq is given or not: a given toSeq must not hide a cut tail inside the range it asks for.
  const declaredTo = declared?.toSeq
  // toSeq = fromSeq - 1 is an empty range (a time window with no events): only the checkpoints are checked.
  if (toSeq !== undefined && toSeq < fromSeq - 1) throw new AuditKitError('INVALID_RANGE', `toSeq (${toSeq}) is before fromSeq (${fromSeq})`)

  const checkpoints = [...(await source.listCheckpoints(chainId))].sort((a, b) => a.seq - b.seq)
  const { trusted: stored, problem: storedBreak } = checkCheckpoints(chainId, checkpoints, keys)
  const anchored = checkAnchors(chainId, options.anchors ?? [], checkpoints, keys)
  const checkpointBreak = earliest([storedBreak, anchored.problem])
  const trusted = [...stored, ...anchored.trusted].sort((a, b) => a.seq - b.seq)
  const trustedBySeq = new Map(trusted.map((checkpoint) => [checkpoint.seq, checkpoint]))
  const hashOf = (event: AuditEvent): string | null => {
    if (unsealedField(event) !== undefined) return null // a field the hash does not cover was added
    try {
      return computeEventHash(event, hmacKey)
    } catch {
      return null // content that cannot even be canonicalised (edited into something that is not JSON data)
    }
  }

  const reader = new Lookahead(source.events(chainId, Math.max(0, fromSeq - 2)))
  let expectedSeq = fromSeq
  let expectedPrev: string | null = fromSeq === 1 ? GENESIS_HASH : null
  let lastSignedSeq = 0
  let eventsChecked = 0
  let head: { seq: number; hash: string } | null = null
  let eventBreak: ChainBreak | null = null
  let reachedEnd = false

  const sealedSeq = (event: AuditEvent, around: number): number | null => {
    if (hashOf(event) === event.hash) return event.seq
    for (let distance = 0; distance <= LOOKAROUND; distance++) {
      for (const candidate of distance === 0 ? [around] : [around - distance, around + distance]) {
        if (candidate < 1 || candidate === event.seq) continue
        if (hashOf({ ...event, seq: candidate }) === event.hash) return candidate
      }
    }
    return null
  }

  const classify = async (event: AuditEvent): Promise<ChainBreak> => {
    const at = expectedSeq
    const eventId = typeof event.id === 'string' ? event.id : undefined
    const base = { seq: at, ...(eventId === undefined ? {} : { eventId }) }
    const sealed = sealedSeq(event, at)
    if (sealed === null) {
      if (Number.isInteger(event.seq) && event.seq > at) return { ...base, reason: 'deleted', message: missing(at, event.seq - 1) }
      const added = unsealedField(event)
      if (added !== undefined)
        return { ...base, reason: 'modified', message: `The event at seq ${at} has a field ${JSON.stringify(added)} that its hash does not cover: it was added after sealing` }
      // On the first event, a key problem is as likely as tampering: say so (a wrong key fails every event).
      const hint = eventsChecked > 0 ? '' : keyHint(hmacKey)
      return { ...base, reason: 'modified', message: `The event at seq ${at} does not match its hash: its content was changed${hint}` }
    }
    if (sealed === at) {
      if (event.seq !== at) return { ...base, reason: 'modified', message: `The event at seq ${at} had its seq changed to ${String(event.seq)}` }
      return {
        reason: 'modified',
        seq: Math.max(1, at - 1),
        message: `The event at seq ${at - 1} was changed and re-hashed: seq ${at} still links to its original hash`,
      }
    }
    if (sealed > at) {
      for (let offset = 1; offset <= LOOKAROUND; offset++) {
        const later = await reader.at(offset)
        if (!later) break
        const laterSealed = sealedSeq(later, at + offset)
        if (laterSealed !== null && laterSealed >= at && laterSealed < sealed)
          return { ...base, reason: 'reordered', message: `The event sealed at seq ${sealed} sits at seq ${at}; seq ${laterSealed} comes after it` }
      }
      return { ...base, reason: 'deleted', message: missing(at, sealed - 1) }
    }
    return { ...base, reason: 'reordered', message: `The event sealed at seq ${sealed} sits at seq ${at}, after seq ${at - 1}` }
  }

  const anchorBreak = (event: AuditEvent, at: number): ChainBreak | null => {
    if (event.seq !== at)
      return { reason: 'deleted', seq: at, message: `${capitalised(missing(at, at))}: the first event of the range links to it` }
    const checkpoint = trustedBySeq.get(at)
    if (hashOf(event) === event.hash && !(checkpoint && checkpoint.hash !== event.hash)) return null
    const added = unsealedField(event)
    const hint = keyHint(hmacKey)
    return {
      reason: 'modified',
      seq: at,
      ...(typeof event.id === 'string' ? { eventId: event.id } : {}),
      message:
        added !== undefined
          ? `The event at seq ${at} (before the range) has a field ${JSON.stringify(added)} that its hash does not cover: it was added after sealing`
          : checkpoint && checkpoint.hash !== event.hash
            ? `The event at seq ${at} (before the range) differs from the signed checkpoint at that seq`
            : `The event at seq ${at} (before the range) does not match its hash: its content was changed${hint}`,
    }
  }

  try {
    for (;;) {
      if (checkpointBreak && expectedSeq > checkpointBreak.seq) break // anything found from here on comes later
      if (toSeq !== undefined && expectedSeq > toSeq) break
      const event = await reader.at(0)
      if (!event) {
        reachedEnd = true
        break
      }
      if (expectedPrev === null) {
        // The anchor: the event before the range, whose hash the first checked event must link to. Without it, or with
        // its content changed, that link proves nothing, so it is checked like any event (a window export carries it).
        eventBreak = anchorBreak(event, fromSeq - 1)
        if (eventBreak) break
        expectedPrev = event.hash
        reader.advance()
        continue
      }
      const linked = expectedPrev === null || event.prevHash === expectedPrev
      if (event.seq === expectedSeq && linked && hashOf(event) === event.hash) {
        const checkpoint = trustedBySeq.get(event.seq)
        if (checkpoint && checkpoint.hash !== event.hash) {
          eventBreak = {
            reason: 'modified',
            seq: event.seq,
            eventId: event.id,
            message:
              `The chain was rewritten: the hash at seq ${event.seq} differs from the signed checkpoint; ` +
              `events ${lastSignedSeq + 1}..${event.seq} were changed and re-hashed`,
          }
          break
        }
        // Intact, but not this chain's (copied from another tenant's chain), or stored with index columns that say
        // otherwise than its hashed content: the admin's lists and filters would show or hide it by those.
        // As the store keeps ids (UTF-8): `listChains` spells 'a\ud800' as 'a\ufffd', the event's JSON as recorded.
        const ownChain = typeof event.chainId === 'string' && sameStoredText(event.chainId, chainId)
        const mismatched = ownChain ? source.indexMismatches?.(event) : ['chain']
        if (mismatched && mismatched.length > 0) {
          eventBreak = {
            reason: 'modified',
            seq: event.seq,
            eventId: event.id,
            message:
              ownChain
                ? `The event at seq ${event.seq} is stored with indexed columns that differ from its hashed content (${mismatched.join(', ')}): ` +
                  'lists, filters, searches and exports select it by those columns'
                : `The event at seq ${event.seq} belongs to chain ${JSON.stringify(event.chainId)}: it was copied or moved into this one`,
          }
          break
        }
        if (checkpoint) lastSignedSeq = event.seq
        expectedPrev = event.hash
        expectedSeq++
        eventsChecked++
        head = { seq: event.seq, hash: event.hash }
        reader.advance()
        continue
      }
      eventBreak = await classify(event)
      break
    }
  } finally {
    await reader.close()
  }

  const lastCheckpoint = trusted.at(-1) ?? null
  // The seq after the last event known to be present: a walk from fromSeq > 1 that never saw the event before the range
  // has not even seen that one.
  const endSeq = expectedPrev === null ? fromSeq - 1 : expectedSeq
  const endBreak = eventBreak || !reachedEnd ? null : endOfChainBreak(endSeq, head, lastCheckpoint, declaredTo, options.maxUncheckpointed)
  const firstBreak = earliest([checkpointBreak, eventBreak, endBreak])
  const signedUpTo = lastCheckpoint?.seq ?? 0
  const warnings: string[] = []
  // A mistyped tenant id (or the wrong file) must not read as a clean bill of health.
  if (head === null && checkpoints.length === 0) {
    warnings.push('No events and no checkpoints of this chain in this source: nothing was verified (is the tenant id right?)')
  } else {
    if (!keys) warnings.push('No public key: checkpoint signatures were not checked, so a rewritten chain with re-made checkpoints would pass')
    if (checkpoints.length === 0 && hmacKey === undefined)
      warnings.push('The chain has no checkpoints and no HMAC key was used: anyone with write access could recompute the whole chain')
  }
  if (head && head.seq > signedUpTo && reachedEnd)
    warnings.push(`Events ${signedUpTo + 1}..${head.seq} follow the last checkpoint: deleting them would not be detected here`)
  return {
    chainId,
    ok: firstBreak === null,
    firstBreak,
    eventsChecked,
    range: { from: fromSeq, to: head?.seq ?? null },
    head,
    checkpoints: { count: checkpoints.length, lastSeq: checkpoints.at(-1)?.seq ?? null, signatures: keys ? 'verified' : 'unchecked' },
    keyed: hmacKey !== undefined,
    warnings,
  }
}

/** Verifies every chain of a source (or the given ones), one after the other. */
export async function verifyAll(options: VerifyAllOptions): Promise<VerifyAllResult> {
  const source = toChainSource(options.source)
  // A chain deleted from the database is still checked when an anchor names it.
  const chainIds = options.chainIds ?? [...new Set([...(await source.listChains()), ...(options.anchors ?? []).map((anchor) => anchor.chainId)])]
  const chains: ChainVerification[] = []
  for (const chainId of chainIds) chains.push(await verifyChain({ ...options, source, chainId }))
  return { ok: chains.every((chain) => chain.ok), chains }
}

type KeyPicker = (keyId: string) => KeyObject | undefined

function resolveKeys(options: VerifyChainOptions): KeyPicker | null {
  const single = options.publicKey === undefined ? undefined : toPublicKey(options.publicKey)
  const byId = new Map(Object.entries(options.publicKeys ?? {}).map(([keyId, key]) => [keyId, toPublicKey(key, `publicKeys.${keyId}`)]))
  if (!single && byId.size === 0) return null
  return (keyId) => byId.get(keyId) ?? single
}

/**
 * At the end of an intact walk: a checkpoint beyond the last event, fewer events than the source declares (a cut
 * export file), or too many events after the last checkpoint.
 */
function endOfChainBreak(
  nextSeq: number,
  head: { seq: number } | null,
  lastCheckpoint: SignedCheckpoint | null,
  declaredTo: number | undefined,
  maxUncheckpointed: number | undefined,
): ChainBreak | null {
  if (lastCheckpoint && lastCheckpoint.seq >= nextSeq) {
    return {
      reason: 'tail_truncated',
      seq: nextSeq,
      message: `The chain ends at seq ${nextSeq - 1} but a signed checkpoint covers seq ${lastCheckpoint.seq}: ${missing(nextSeq, lastCheckpoint.seq)}`,
    }
  }
  if (declaredTo !== undefined && declaredTo >= nextSeq) {
    return {
      reason: 'tail_truncated',
      seq: nextSeq,
      message: `The chain ends at seq ${nextSeq - 1} but the export declares events up to seq ${declaredTo}: ${missing(nextSeq, declaredTo)}`,
    }
  }
  const signedUpTo = lastCheckpoint?.seq ?? 0
  if (maxUncheckpointed !== undefined && head && head.seq - signedUpTo > maxUncheckpointed) {
    return {
      reason: 'missing_checkpoint',
      seq: signedUpTo + maxUncheckpointed + 1,
      message:
        signedUpTo === 0
          ? `${head.seq} events and no checkpoint yet, more than the ${maxUncheckpointed} allowed without one: the checkpoints were deleted or none were written`
          : `${head.seq - signedUpTo} events follow the last checkpoint (seq ${signedUpTo}), more than the ${maxUncheckpointed} allowed: newer checkpoints were deleted or none were written`,
    }
  }
  return null
}

/** Checks signatures and links of the checkpoint sequence; the checkpoints before the first problem are trusted. */
function checkCheckpoints(
  chainId: string,
  checkpoints: readonly SignedCheckpoint[],
  keys: KeyPicker | null,
): { trusted: SignedCheckpoint[]; problem: ChainBreak | null } {
  const trusted: SignedCheckpoint[] = []
  let previous: SignedCheckpoint | null = null
  for (const checkpoint of checkpoints) {
    if (keys) {
      const key = keys(checkpoint.keyId)
      if (!key) return { trusted, problem: { reason: 'forged_checkpoint', seq: checkpoint.seq, message: `The checkpoint at seq ${checkpoint.seq} names an unknown key ${JSON.stringify(checkpoint.keyId)}` } }
      if (checkpoint.chainId !== chainId || !verifyCheckpointSignature(checkpoint, key))
        return { trusted, problem: { reason: 'forged_checkpoint', seq: checkpoint.seq, message: `The signature of the checkpoint at seq ${checkpoint.seq} does not verify with the public key` } }
    }
    const expected = previous?.signature ?? ''
    if (checkpoint.prevSignature !== expected) {
      const message = previous
        ? `The checkpoint at seq ${checkpoint.seq} does not link to the one at seq ${previous.seq}: a checkpoint between them was removed or replaced`
        : `The first stored checkpoint (seq ${checkpoint.seq}) links to an earlier one that is gone`
      return { trusted, problem: { reason: 'missing_checkpoint', seq: checkpoint.seq, message } }
    }
    trusted.push(checkpoint)
    previous = checkpoint
  }
  return { trusted, problem: null }
}

/** External checkpoints: valid signatures, present in the source; the valid ones become trusted anchors. */
function checkAnchors(
  chainId: string,
  anchors: readonly SignedCheckpoint[],
  stored: readonly SignedCheckpoint[],
  keys: KeyPicker | null,
): { trusted: SignedCheckpoint[]; problem: ChainBreak | null } {
  const trusted: SignedCheckpoint[] = []
  const problems: ChainBreak[] = []
  for (const anchor of anchors) {
    if (anchor.chainId !== chainId) continue
    const key = keys?.(anchor.keyId)
    if (keys && (!key || !verifyCheckpointSignature(anchor, key))) {
      problems.push({ reason: 'forged_checkpoint', seq: anchor.seq, message: `The external checkpoint for seq ${anchor.seq} does not verify with the public key` })
      continue
    }
    trusted.push(anchor)
    if (!stored.some((checkpoint) => checkpoint.seq === anchor.seq && checkpoint.signature === anchor.signature))
      problems.push({
        reason: 'missing_checkpoint',
        seq: anchor.seq,
        message: `The checkpoint for seq ${anchor.seq} held outside the database is not in it: checkpoints were deleted or replaced`,
      })
  }
  return { trusted, problem: earliest(problems) }
}

const PRIORITY: Record<BreakReason, number> = {
  forged_checkpoint: 0,
  missing_checkpoint: 1,
  deleted: 2,
  reordered: 3,
  modified: 4,
  tail_truncated: 5,
}

function earliest(breaks: (ChainBreak | null)[]): ChainBreak | null {
  return (
    breaks
      .filter((item): item is ChainBreak => item !== null)
      .sort((a, b) => a.seq - b.seq || PRIORITY[a.reason] - PRIORITY[b.reason])[0] ?? null
  )
}

/** The range a source declares, checked: a malformed one means the source is not a readable export. */
function declaredRange(chainId: string, range: SeqRange | null): SeqRange | null {
  if (range === null) return null
  const { fromSeq, toSeq } = range
  if (!Number.isInteger(fromSeq) || fromSeq < 1 || !Number.isInteger(toSeq) || toSeq < fromSeq - 1)
    throw new AuditKitError('INTEGRITY_ERROR', `The source declares an invalid seq range for chain ${JSON.stringify(chainId)} (fromSeq ${JSON.stringify(fromSeq) ?? String(fromSeq)}, toSeq ${JSON.stringify(toSeq) ?? String(toSeq)})`)
  return range
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}

function missing(from: number, to: number): string {
  return from === to ? `the event at seq ${from} is missing` : `events ${from}..${to} are missing`
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new AuditKitError('INVALID_RANGE', `${name} must be a positive integer`)
  return value
}

function nonNegativeInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 0) throw new AuditKitError('INVALID_RANGE', `${name} must be a non-negative integer`)
  return value
}

/** An async iterator with a look-ahead buffer (a broken link is classified by what follows it). */
class Lookahead<T> {
  private readonly iterator: AsyncIterator<T>
  private readonly buffer: T[] = []
  private done = false

  constructor(iterable: AsyncIterable<T>) {
    this.iterator = iterable[Symbol.asyncIterator]()
  }

  async at(offset: number): Promise<T | undefined> {
    while (this.buffer.length <= offset && !this.done) {
      const next = await this.iterator.next()
      if (next.done) this.done = true
      else this.buffer.push(next.value)
    }
    return this.buffer[offset]
  }

  advance(): void {
    this.buffer.shift()
  }

  /** Lets the source release what it holds (an open file) when verification stops early. */
  async close(): Promise<void> {
    if (!this.done) await this.iterator.return?.()
  }
}

function keyHint(hmacKey: string | Buffer | undefined): string {
  return hmacKey === undefined
    ? ' (if the chain was written with an HMAC key, pass it)'
    : ' (or the HMAC key given is not the one the chain was written with)'
}
