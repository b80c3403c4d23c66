import { generateKeyPairSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { AuditEvent, UnsealedEvent } from '../event/schema.js'
import type { SignedCheckpoint } from '../store/types.js'
import { signCheckpoint } from './checkpoint.js'
import { computeEventHash, createSealer } from './hash.js'
import type { ChainSource } from './source.js'
import { verifyAll, verifyChain, type VerifyChainOptions } from './verify.js'

const { privateKey, publicKey } = generateKeyPairSync('ed25519')
const attacker = generateKeyPairSync('ed25519')

function unsealed(n: number, chainId = 't1'): UnsealedEvent {
  return {
    id: `0190f0b4-0000-7000-8000-${String(n).padStart(12, '0')}`,
    occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
    tenantId: chainId,
    chainId,
    actor: { type: 'user', id: `u${n % 3}` },
    action: 'project_updated',
    resource: { type: 'project', id: `p${n}` },
    outcome: 'success',
    changes: { before: { name: `old ${n}` }, after: { name: `new ${n}`, ratio: n / 7 } },
  }
}

function chain(length: number, hmacKey?: string): AuditEvent[] {
  const seal = createSealer(hmacKey)
  const events: AuditEvent[] = []
  for (let n = 1; n <= length; n++) events.push(seal(unsealed(n), events.at(-1) ?? null))
  return events
}

function checkpointsAt(events: readonly AuditEvent[], seqs: number[], key = privateKey): SignedCheckpoint[] {
  const checkpoints: SignedCheckpoint[] = []
  for (const seq of seqs) {
    const event = events[seq - 1]!
    checkpoints.push(
      signCheckpoint(
        { chainId: 't1', seq, hash: event.hash, createdAt: event.occurredAt, prevSignature: checkpoints.at(-1)?.signature ?? '', keyId: 'k1' },
        key,
      ),
    )
  }
  return checkpoints
}

function source(events: readonly AuditEvent[], checkpoints: readonly SignedCheckpoint[] = []): ChainSource {
  return {
    listChains: async () => [...new Set(events.map((event) => event.chainId))],
    listCheckpoints: async (chainId) => checkpoints.filter((checkpoint) => checkpoint.chainId === chainId),
    async *events(chainId, afterSeq) {
      for (const event of events) if (event.chainId === chainId && event.seq > afterSeq) yield event
    },
  }
}

const verify = (events: readonly AuditEvent[], checkpoints: readonly SignedCheckpoint[] = [], options: Partial<VerifyChainOptions> = {}) =>
  verifyChain({ source: source(events, checkpoints), chainId: 't1', publicKey, ...options })

describe('verifyChain', () => {
  it('accepts an intact chain with signed checkpoints', async () => {
    const events = chain(50)
    const result = await verify(events, checkpointsAt(events, [10, 20, 50]))
    expect(result).toMatchObject({ ok: true, firstBreak: null, eventsChecked: 50, head: { seq: 50 }, checkpoints: { count: 3, lastSeq: 50, signatures: 'verified' } })
    expect(result.warnings).toEqual([])
  })

  it('reports a changed field as modified at its seq', async () => {
    const events = chain(30)
    events[11] = { ...events[11]!, outcome: 'failure' }
    expect((await verify(events)).firstBreak).toMatchObject({ reason: 'modified', seq: 12, eventId: events[11]!.id })
  })

  it('reports a changed and re-hashed event through the next link', async () => {
    const events = chain(30)
    const changed = { ...events[11]!, action: 'project_deleted' }
    events[11] = { ...changed, hash: computeEventHash(changed) }
    expect((await verify(events)).firstBreak).toMatchObject({ reason: 'modified', seq: 12 })
  })

  it('reports a missing middle event as deleted', async () => {
    const events = chain(30)
    events.splice(14, 1)
    expect((await verify(events)).firstBreak).toMatchObject({ reason: 'deleted', seq: 15 })
  })

  it('reports a deletion hidden by renumbering the seq fields as deleted', async () => {
    const events = chain(30)
    events.splice(14, 1)
    for (let i = 14; i < events.length; i++) events[i] = { ...events[i]!, seq: i + 1 }
    expect((await verify(events)).firstBreak).toMatchObject({ reason: 'deleted', seq: 15 })
  })

  it('reports swapped events as reordered, whether rows or their seq values were swapped', async () => {
    const rows = chain(30)
    ;[rows[9], rows[10]] = [rows[10]!, rows[9]!]
    expect((await verify(rows)).firstBreak).toMatchObject({ reason: 'reordered', seq: 10 })

    const seqs = chain(30)
    const [a, b] = [seqs[9]!, seqs[10]!]
    seqs[9] = { ...b, seq: 10 }
    seqs[10] = { ...a, seq: 11 }
    expect((await verify(seqs)).firstBreak).toMatchObject({ reason: 'reordered', seq: 10 })
  })

  it('reports a tail deleted behind the last checkpoint as tail_truncated, and cannot see one past it', async () => {
    const events = chain(40)
    const checkpoints = checkpointsAt(events, [10, 30])
    expect((await verify(events.slice(0, 25), checkpoints)).firstBreak).toMatchObject({ reason: 'tail_truncated', seq: 26 })
    // Only the signed event itself deleted: the chain stops one short of the checkpoint.
    expect((await verify(events.slice(0, 29), checkpoints)).firstBreak).toMatchObject({ reason: 'tail_truncated', seq: 30 })
    const pastLast = await verify(events.slice(0, 35), checkpoints)
    expect(pastLast.ok).toBe(true)
    expect(pastLast.warnings.join(' ')).toMatch(/31\.\.35 follow the last checkpoint/)
  })

  it('detects a whole chain recomputed without the signing key', async () => {
    const original = chain(40)
    const checkpoints = checkpointsAt(original, [10, 20, 30])
    const seal = createSealer()
    const rewritten: AuditEvent[] = []
    for (const event of original) {
      const content = event.seq === 15 ? { ...unsealed(15), action: 'project_archived' } : unsealed(event.seq)
      rewritten.push(seal(content, rewritten.at(-1) ?? null))
    }
    // Kept checkpoints no longer match the rewritten hashes.
    expect((await verify(rewritten, checkpoints)).firstBreak).toMatchObject({ reason: 'modified', seq: 20 })
    // Checkpoints re-made with another key are forged.
    expect((await verify(rewritten, checkpointsAt(rewritten, [10, 20, 30], attacker.privateKey))).firstBreak).toMatchObject({
      reason: 'forged_checkpoint',
      seq: 10,
    })
    // Dropping the checkpoints that no longer match leaves a gap in the checkpoint chain.
    expect((await verify(rewritten, [checkpoints[0]!, checkpoints[2]!])).firstBreak).toMatchObject({ reason: 'missing_checkpoint', seq: 30 })
    // Dropping all of them is only caught with a bound on unsigned events.
    expect((await verify(rewritten, [])).ok).toBe(true)
    expect((await verify(rewritten, [], { maxUncheckpointed: 15 })).firstBreak).toMatchObject({ reason: 'missing_checkpoint', seq: 16 })
  })

  it('reports a checkpoint whose fields were edited as forged, and the first deleted checkpoints as missing', async () => {
    const events = chain(30)
    const checkpoints = checkpointsAt(events, [10, 20, 30])
    const edited = checkpoints.map((checkpoint) => (checkpoint.seq === 20 ? { ...checkpoint, hash: events[18]!.hash } : checkpoint))
    expect((await verify(events, edited)).firstBreak).toMatchObject({ reason: 'forged_checkpoint', seq: 20 })
    expect((await verify(events, checkpoints.slice(1))).firstBreak).toMatchObject({ reason: 'missing_checkpoint', seq: 20 })
    expect((await verify(events, checkpoints, { publicKey: undefined, publicKeys: { other: publicKey } })).firstBreak).toMatchObject({ reason: 'forged_checkpoint', seq: 10 })
  })

  it('checks links without a public key and says that signatures were not checked', async () => {
    const events = chain(30)
    const result = await verify(events, checkpointsAt(events, [10, 20], attacker.privateKey), { publicKey: undefined })
    expect(result).toMatchObject({ ok: true, checkpoints: { signatures: 'unchecked' } })
    expect(result.warnings.join(' ')).toMatch(/No public key/)
  })

  it('verifies HMAC chains only with their key', async () => {
    const events = chain(10, 'secret')
    expect((await verify(events, [], { hmacKey: 'secret' })).ok).toBe(true)
    const withoutKey = await verify(events)
    expect(withoutKey.firstBreak).toMatchObject({ reason: 'modified', seq: 1 })
    expect(withoutKey.firstBreak?.message).toMatch(/HMAC key/)
  })

  it('checks a seq range and its link to the event before it', async () => {
    const events = chain(30)
    expect(await verify(events, [], { fromSeq: 11, toSeq: 20 })).toMatchObject({ ok: true, eventsChecked: 10, range: { from: 11, to: 20 } })
    events[3] = { ...events[3]!, outcome: 'failure' }
    expect((await verify(events, [], { fromSeq: 11, toSeq: 20 })).ok).toBe(true)
    events[9] = { ...events[9]!, hash: 'f'.repeat(64) }
    expect((await verify(events, [], { fromSeq: 11, toSeq: 20 })).firstBreak).toMatchObject({ reason: 'modified', seq: 10 })
    await expect(verify(events, [], { fromSeq: 5, toSeq: 2 })).rejects.toMatchObject({ code: 'INVALID_RANGE' })
  })

  it('reports a field added to a stored event, which no hash covers, as modified', async () => {
    const events = chain(30)
    events[11] = { ...events[11]!, approvedBy: 'cfo' } as AuditEvent
    const result = await verify(events, checkpointsAt(events, [10, 20]))
    expect(result.firstBreak).toMatchObject({ reason: 'modified', seq: 12, eventId: events[11]!.id })
    expect(result.firstBreak?.message).toMatch(/"approvedBy"/)
  })

  it('requires the event before a seq range to be present and intact, since the range links to it', async () => {
    const deleted = chain(30)
    deleted.splice(9, 1)
    expect((await verify(deleted, [], { fromSeq: 11, toSeq: 20 })).firstBreak).toMatchObject({ reason: 'deleted', seq: 10 })
    const edited = chain(30)
    edited[9] = { ...edited[9]!, outcome: 'failure' }
    expect((await verify(edited, [], { fromSeq: 11, toSeq: 20 })).firstBreak).toMatchObject({ reason: 'modified', seq: 10, eventId: edited[9]!.id })
    // A range that starts right after the head has the head as the event before it.
    expect(await verify(chain(30), [], { fromSeq: 31 })).toMatchObject({ ok: true, eventsChecked: 0 })
  })

  it('uses checkpoints held outside the database (the SIEM copy) as anchors', async () => {
    const events = chain(40)
    const checkpoints = checkpointsAt(events, [10, 20, 30])
    const siemCopy = [checkpoints[2]!]
    // The newest checkpoints deleted together with the events after the remaining last one: consistent without anchors.
    expect((await verify(events.slice(0, 12), checkpoints.slice(0, 1))).ok).toBe(true)
    expect((await verify(events.slice(0, 12), checkpoints.slice(0, 1), { anchors: siemCopy })).firstBreak).toMatchObject({ reason: 'tail_truncated', seq: 13 })
    // Checkpoints removed while the events stayed.
    expect((await verify(events, checkpoints.slice(0, 2), { anchors: siemCopy })).firstBreak).toMatchObject({ reason: 'missing_checkpoint', seq: 30 })
    // An anchor that was not signed with the key proves nothing.
    const forged = checkpointsAt(events, [30], attacker.privateKey)
    expect((await verify(events, checkpoints, { anchors: forged })).firstBreak).toMatchObject({ reason: 'forged_checkpoint', seq: 30 })
    expect((await verify(events, checkpoints, { anchors: siemCopy })).ok).toBe(true)
    // A whole chain deleted with its checkpoints is still named by its anchor.
    const other = createSealer()(unsealed(1, 't2'), null)
    const result = await verifyAll({ source: source([other]), publicKey, anchors: siemCopy })
    expect(result.chains.map((item) => [item.chainId, item.firstBreak?.reason ?? 'ok', item.firstBreak?.seq])).toEqual([
      ['t2', 'ok', undefined],
      ['t1', 'tail_truncated', 1],
    ])
  })

  it('verifies every chain of a source', async () => {
    const other = createSealer()(unsealed(1, 't2'), null)
    const result = await verifyAll({ source: source([...chain(5), other]), publicKey })
    expect(result.ok).toBe(true)
    expect(result.chains.map((item) => [item.chainId, item.eventsChecked])).toEqual([
      ['t1', 5],
      ['t2', 1],
    ])
  })
})
