import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'libsql'
import { afterAll, describe, expect, it } from 'vitest'
import type { AuditEvent, UnsealedEvent } from '../event/schema.js'
import { createAuditLogger } from '../logger/audit-logger.js'
import type { SignedCheckpoint } from '../store/types.js'
import { createSqliteStore } from '../stores/sqlite/index.js'
import { createCheckpointer } from './checkpointer.js'
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

  it('reports an old event replayed at the end of the chain (its seq renumbered) as reordered, not deleted', async () => {
    const events = chain(10)
    events.push({ ...events[4]!, seq: 11 })
    expect((await verify(events)).firstBreak).toMatchObject({ reason: 'reordered', seq: 11, eventId: events[4]!.id, message: expect.stringMatching(/sealed at seq 5 sits at seq 11/) })
  })

  it('reports an event whose seq field alone was edited as modified at its position', async () => {
    const events = chain(30)
    events[11] = { ...events[11]!, seq: 99 }
    expect((await verify(events)).firstBreak).toMatchObject({ reason: 'modified', seq: 12, message: expect.stringMatching(/seq changed to 99/) })
    const first = chain(30)
    first[0] = { ...first[0]!, seq: 5 }
    expect((await verify(first)).firstBreak).toMatchObject({ reason: 'modified', seq: 1, message: expect.stringMatching(/seq changed to 5/) })
  })

  it('reports a deletion as deleted whatever follows the gap: an edited event, a replayed old one, a duplicate', async () => {
    const edited = chain(30)
    edited.splice(14, 1)
    edited[15] = { ...edited[15]!, outcome: 'failure' }
    const replayed = chain(30)
    replayed.splice(14, 1)
    replayed.splice(15, 0, replayed[2]!)
    const duplicated = chain(30)
    duplicated.splice(14, 1)
    duplicated.splice(15, 0, duplicated[14]!)
    for (const events of [edited, replayed, duplicated]) expect((await verify(events)).firstBreak).toMatchObject({ reason: 'deleted', seq: 15 })
  })

  it('reports an event moved two places later as reordered, and seq values swapped 64 apart as reordered', async () => {
    const moved = chain(30)
    moved.splice(11, 0, ...moved.splice(9, 1)) // 9, 11, 12, 10, 13
    expect(moved.slice(8, 13).map((event) => event.seq)).toEqual([9, 11, 12, 10, 13])
    expect((await verify(moved)).firstBreak).toMatchObject({ reason: 'reordered', seq: 10 })
    const far = chain(70)
    const [a, b] = [far[4]!, far[68]!]
    far[4] = { ...b, seq: 5 }
    far[68] = { ...a, seq: 69 }
    expect((await verify(far)).firstBreak).toMatchObject({ reason: 'reordered', seq: 5, message: expect.stringMatching(/sealed at seq 69 sits at seq 5/) })
  })

  it('reports a forged checkpoint before a missing one at the same seq', async () => {
    const events = chain(30)
    const checkpoints = checkpointsAt(events, [10, 20, 30])
    const forged = checkpointsAt(events, [30], attacker.privateKey)
    expect((await verify(events, [checkpoints[0]!, checkpoints[2]!], { anchors: forged })).firstBreak).toMatchObject({ reason: 'forged_checkpoint', seq: 30 })
  })

  it('lets the source release what it holds when verification stops at a break', async () => {
    const events = chain(30)
    events[4] = { ...events[4]!, outcome: 'failure' }
    let released = false
    const tracked: ChainSource = {
      ...source(events),
      async *events(_chainId, afterSeq) {
        try {
          for (const event of events) if (event.seq > afterSeq) yield event
        } finally {
          released = true
        }
      },
    }
    expect((await verifyChain({ source: tracked, chainId: 't1', publicKey })).firstBreak).toMatchObject({ reason: 'modified', seq: 5 })
    expect(released).toBe(true)
  })

  it('reports a deletion as deleted even when the event after the gap was also edited', async () => {
    const events = chain(30)
    events.splice(14, 1)
    events[14] = { ...events[14]!, outcome: 'failure' }
    expect((await verify(events)).firstBreak).toMatchObject({ reason: 'deleted', seq: 15, eventId: events[14]!.id })
  })

  it('reports the event before a seq range as modified when it was re-hashed away from its signed checkpoint', async () => {
    const events = chain(30)
    const checkpoints = checkpointsAt(events, [10, 20])
    const changed = { ...events[9]!, outcome: 'failure' as const }
    events[9] = { ...changed, hash: computeEventHash(changed) }
    expect((await verify(events, checkpoints, { fromSeq: 11, toSeq: 20 })).firstBreak).toMatchObject({
      reason: 'modified',
      seq: 10,
      message: expect.stringMatching(/differs from the signed checkpoint/),
    })
  })

  it('reports a tail cut behind a checkpoint when only a range after the cut is verified', async () => {
    const events = chain(40)
    const checkpoints = checkpointsAt(events, [10, 31])
    expect((await verify(events.slice(0, 30), checkpoints, { fromSeq: 32 })).firstBreak).toMatchObject({ reason: 'tail_truncated', seq: 31 })
  })

  it("reports events of another chain served as this chain's, and events whose index columns disagree with them", async () => {
    const seal = createSealer()
    const foreign: AuditEvent[] = []
    for (let n = 1; n <= 3; n++) foreign.push(seal(unsealed(n, 't2'), foreign.at(-1) ?? null))
    const mixed: ChainSource = { ...source(foreign), events: (_chainId, afterSeq) => source(foreign).events('t2', afterSeq) }
    expect((await verifyChain({ source: mixed, chainId: 't1', publicKey })).firstBreak).toMatchObject({
      reason: 'modified',
      seq: 1,
      message: expect.stringMatching(/belongs to chain "t2"/),
    })
    const events = chain(10)
    const indexed: ChainSource = { ...source(events), indexMismatches: (event) => (event.seq === 7 ? ['outcome'] : []) }
    expect((await verifyChain({ source: indexed, chainId: 't1', publicKey })).firstBreak).toMatchObject({
      reason: 'modified',
      seq: 7,
      message: expect.stringMatching(/indexed columns .*\(outcome\)/),
    })
  })

  it('checks checkpoints against keys given by keyId, and refuses a checkpoint of another chain', async () => {
    const events = chain(20)
    const checkpoints = checkpointsAt(events, [10, 20])
    expect(await verify(events, checkpoints, { publicKey: undefined, publicKeys: { k1: publicKey } })).toMatchObject({ ok: true, checkpoints: { signatures: 'verified' } })
    // A genuine checkpoint of chain t2 listed among t1's (a source that does not filter, or a row moved between chains).
    const elsewhere = signCheckpoint({ ...checkpoints[0]!, chainId: 't2' }, privateKey)
    const listed: ChainSource = { ...source(events), listCheckpoints: async () => [elsewhere] }
    expect((await verifyChain({ source: listed, chainId: 't1', publicKey })).firstBreak).toMatchObject({ reason: 'forged_checkpoint', seq: 10 })
  })

  it('reports an anchor whose stored checkpoint was replaced, even when signatures are not checked', async () => {
    const events = chain(30)
    const checkpoints = checkpointsAt(events, [10, 20, 30])
    const replaced = [...checkpoints.slice(0, 2), checkpointsAt(events, [10, 20, 30], attacker.privateKey)[2]!]
    replaced[2] = { ...replaced[2]!, prevSignature: checkpoints[1]!.signature }
    expect((await verify(events, replaced, { publicKey: undefined, anchors: [checkpoints[2]!] })).firstBreak).toMatchObject({ reason: 'missing_checkpoint', seq: 30 })
  })

  it('reads checkpoints in seq order whatever order the source lists them in', async () => {
    const events = chain(30)
    const checkpoints = checkpointsAt(events, [10, 20, 30])
    const reversed: ChainSource = { ...source(events), listCheckpoints: async () => [...checkpoints].reverse() }
    expect(await verifyChain({ source: reversed, chainId: 't1', publicKey })).toMatchObject({ ok: true, checkpoints: { count: 3, lastSeq: 30 } })
  })

  it('refuses a source that declares an invalid seq range', async () => {
    const events = chain(5)
    for (const range of [{ fromSeq: 0, toSeq: 3 }, { fromSeq: 5, toSeq: 3 }, { fromSeq: 1.5, toSeq: 3 }]) {
      const declaring: ChainSource = { ...source(events), range: async () => range }
      await expect(verifyChain({ source: declaring, chainId: 't1', publicKey })).rejects.toMatchObject({ code: 'INTEGRITY_ERROR' })
    }
    // fromSeq - 1 is an empty range.
    const empty: ChainSource = { ...source(events), range: async () => ({ fromSeq: 6, toSeq: 5 }) }
    expect(await verifyChain({ source: empty, chainId: 't1', publicKey })).toMatchObject({ ok: true, eventsChecked: 0 })
  })

  it('refuses malformed seq bounds', async () => {
    const events = chain(5)
    for (const options of [{ fromSeq: 0 }, { fromSeq: 1.5 }, { toSeq: -1 }, { toSeq: 2.5 }])
      await expect(verify(events, [], options)).rejects.toMatchObject({ code: 'INVALID_RANGE' })
    // toSeq = fromSeq - 1 is an empty range, not an error; toSeq = fromSeq is one event.
    expect(await verify(events, [], { fromSeq: 3, toSeq: 2 })).toMatchObject({ ok: true, eventsChecked: 0 })
    expect(await verify(events, [], { fromSeq: 1, toSeq: 0 })).toMatchObject({ ok: true, eventsChecked: 0 })
    expect(await verify(events, [], { fromSeq: 3, toSeq: 3 })).toMatchObject({ ok: true, eventsChecked: 1 })
  })

  it('warns when nothing was verified, and when a chain has neither checkpoints nor an HMAC key', async () => {
    const nothing = await verifyChain({ source: source(chain(5)), chainId: 'no-such-tenant', publicKey })
    expect(nothing).toMatchObject({ ok: true, eventsChecked: 0, keyed: false })
    expect(nothing.warnings).toEqual([expect.stringMatching(/nothing was verified/)])
    const plain = await verify(chain(5))
    expect(plain.warnings).toEqual([expect.stringMatching(/no checkpoints and no HMAC key/), expect.stringMatching(/Events 1\.\.5 follow the last checkpoint/)])
    const keyed = await verify(chain(5, 'secret'), [], { hmacKey: 'secret' })
    expect(keyed).toMatchObject({ ok: true, keyed: true })
    expect(keyed.warnings).toEqual([expect.stringMatching(/Events 1\.\.5 follow the last checkpoint/)])
  })
})

describe('verifyChain on a SQLite store edited by an attacker', () => {
  const dir = mkdtempSync(join(tmpdir(), 'auditkit-verify-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('reports a tail cut behind a stored checkpoint when the SIEM copies of older checkpoints are given as anchors', async () => {
    const path = join(dir, 'tail.db')
    const store = createSqliteStore({ path })
    const logger = createAuditLogger({ store, batchSize: 5, onError: () => {} })
    const checkpointer = createCheckpointer({ logger, privateKey, everyEvents: 10, everyMs: 0 })
    for (let n = 1; n <= 30; n++)
      await logger.record({ tenantId: 'acme', actor: { type: 'user', id: 'u1' }, action: 'project_updated', resource: { type: 'project', id: `p${n}` }, outcome: 'success' }, { delivery: 'await' })
    await checkpointer.close({ final: false })
    await logger.close()
    const siemCopies = (await store.listCheckpoints('acme')).filter((checkpoint) => checkpoint.seq < 30)
    expect(siemCopies.map((checkpoint) => checkpoint.seq)).toEqual([10, 20])
    await store.close()

    const db = new Database(path)
    db.exec("DELETE FROM events WHERE chain_id = 'acme' AND seq > 25")
    db.close()

    const tampered = createSqliteStore({ path })
    try {
      const result = await verifyChain({ source: tampered, chainId: 'acme', publicKey, anchors: siemCopies })
      expect(result.firstBreak).toMatchObject({ reason: 'tail_truncated', seq: 26 })
    } finally {
      await tampered.close()
    }
  })
})
