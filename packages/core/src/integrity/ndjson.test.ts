import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuditEvent } from '../event/schema.js'
import { createAuditLogger } from '../logger/audit-logger.js'
import type { AuditStore } from '../store/types.js'
import { createSqliteStore } from '../stores/sqlite/index.js'
import { createCheckpointer } from './checkpointer.js'
import { createNdjsonSource, exportNdjson, seqRangeForTimes } from './ndjson.js'
import { createIntegrityService } from './service.js'
import { verifyAll, verifyChain } from './verify.js'

const dir = mkdtempSync(join(tmpdir(), 'auditkit-ndjson-'))
const { privateKey, publicKey } = generateKeyPairSync('ed25519')
let store: AuditStore
let minute = 0
// Events one minute apart, so that time windows map to known seq ranges.
const clock = (): Date => new Date(Date.UTC(2026, 2, 1, 0, minute++))

beforeAll(async () => {
  store = createSqliteStore({ path: join(dir, 'audit.db') })
  const logger = createAuditLogger({ store, clock, onError: () => {} })
  const checkpointer = createCheckpointer({ logger, privateKey, everyEvents: 10, everyMs: 0 })
  for (let n = 1; n <= 25; n++) {
    await logger.record(
      {
        tenantId: n % 5 === 0 ? 'globex' : 'acme',
        actor: { type: 'user', id: 'u1', name: 'Zoë Ünal' },
        action: 'member_invited',
        resource: { type: 'member', id: `m${n}` },
        outcome: 'success',
        metadata: { big: 1e21, small: 1e-7, n },
      },
      { delivery: 'await' },
    )
  }
  await checkpointer.close()
  await logger.close()
})
afterAll(async () => {
  await store.close()
  rmSync(dir, { recursive: true, force: true })
})

async function writeExport(name: string, lines: AsyncIterable<string>): Promise<string> {
  let text = ''
  for await (const line of lines) text += line
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

describe('NDJSON export', () => {
  it('holds every field of every event and the checkpoints, and verifies offline', async () => {
    const path = await writeExport('all.ndjson', exportNdjson({ store }))
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as { kind: string })
    expect(lines[0]).toMatchObject({ kind: 'auditkit-chain', version: 1 })
    expect(lines.filter((line) => line.kind === 'chain')).toEqual([
      expect.objectContaining({ chainId: 'acme', fromSeq: 1, toSeq: 20 }),
      expect.objectContaining({ chainId: 'globex', fromSeq: 1, toSeq: 5 }),
    ])
    const [first] = await store.readChain('acme', 0, 1)
    const { kind, ...exported } = lines.find((line) => line.kind === 'event') as AuditEvent & { kind: string }
    expect(kind).toBe('event')
    expect(exported).toEqual(first)
    expect(lines.filter((line) => line.kind === 'checkpoint')).toHaveLength(3) // acme 10, 20; globex 5

    const result = await verifyAll({ source: createNdjsonSource({ path }), publicKey, maxUncheckpointed: 0 })
    expect(result.ok).toBe(true)
    expect(result.chains.map((chain) => [chain.chainId, chain.eventsChecked])).toEqual([
      ['acme', 20],
      ['globex', 5],
    ])
  })

  it('detects an edited line in the file', async () => {
    const path = await writeExport('edited.ndjson', exportNdjson({ store, chainIds: ['acme'] }))
    writeFileSync(path, readFileSync(path, 'utf8').replace('"resource":{"type":"member","id":"m7"}', '"resource":{"type":"member","id":"m8"}'))
    expect((await verifyChain({ source: createNdjsonSource({ path }), chainId: 'acme', publicKey })).firstBreak).toMatchObject({
      reason: 'modified',
      seq: 6,
    })
  })

  it('exports a time window with the event before it as the anchor', async () => {
    // acme holds minutes 0-3, 5-8, ...: seq 5 is minute 5, seq 12 is minute 14.
    const window = { from: '2026-03-01T00:05:00.000Z', to: '2026-03-01T00:15:00.000Z' }
    expect(await seqRangeForTimes(store, 'acme', window)).toEqual({ fromSeq: 5, toSeq: 12 })
    const service = createIntegrityService({ store, publicKey })
    const path = await writeExport('window.ndjson', service.exportNdjson({ tenantId: 'acme' }, window))
    const events = readFileSync(path, 'utf8').split('\n').filter((line) => line.includes('"kind":"event"'))
    expect(events.map((line) => (JSON.parse(line) as AuditEvent).seq)).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12])
    expect(await verifyChain({ source: createNdjsonSource({ path }), chainId: 'acme', publicKey })).toMatchObject({
      ok: true,
      eventsChecked: 8,
      range: { from: 5, to: 12 },
      checkpoints: { count: 1, lastSeq: 10 },
    })
    expect(await service.verify({ tenantId: 'acme' }, window)).toMatchObject({ ok: true, eventsChecked: 8, window })
    expect(await service.verify({ tenantId: 'acme' }, { from: '2030-01-01T00:00:00.000Z', to: '2031-01-01T00:00:00.000Z' })).toMatchObject({
      ok: true,
      eventsChecked: 0,
    })
  })

  it('detects a window export whose anchor event was edited or removed', async () => {
    const service = createIntegrityService({ store, publicKey })
    const window = { from: '2026-03-01T00:05:00.000Z', to: '2026-03-01T00:15:00.000Z' }
    const path = await writeExport('window-anchor.ndjson', service.exportNdjson({ tenantId: 'acme' }, window))
    const text = readFileSync(path, 'utf8')
    // acme seq 4 (member m4) is the anchor of the window 5..12.
    writeFileSync(path, text.replace('"id":"m4"}', '"id":"m40"}'))
    expect((await verifyChain({ source: createNdjsonSource({ path }), chainId: 'acme', publicKey })).firstBreak).toMatchObject({ reason: 'modified', seq: 4 })
    writeFileSync(path, text.split('\n').filter((line) => !line.includes('"id":"m4"}')).join('\n'))
    expect((await verifyChain({ source: createNdjsonSource({ path }), chainId: 'acme', publicKey })).firstBreak).toMatchObject({ reason: 'deleted', seq: 4 })
  })

  it('detects an export whose tail was cut, even with its declared toSeq edited to match', async () => {
    const window = { from: '2026-03-01T00:05:00.000Z', to: '2026-03-01T00:15:00.000Z' }
    const path = await writeExport('cut.ndjson', createIntegrityService({ store, publicKey }).exportNdjson({ tenantId: 'acme' }, window))
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n')
    // A download cut after the last checkpoint (seq 10) of the window 5..12: seq 12 is missing.
    writeFileSync(path, `${lines.slice(0, -1).join('\n')}\n`)
    expect((await verifyChain({ source: createNdjsonSource({ path }), chainId: 'acme', publicKey })).firstBreak).toMatchObject({ reason: 'tail_truncated', seq: 12 })

    // The whole acme chain (checkpoints at 10 and 20), seq 16..20 removed and the chain line edited to end at 15.
    const full = await writeExport('cut-full.ndjson', exportNdjson({ store, chainIds: ['acme'] }))
    const kept = readFileSync(full, 'utf8')
      .trimEnd()
      .split('\n')
      .filter((line) => !(line.includes('"kind":"event"') && (JSON.parse(line) as AuditEvent).seq > 15))
      .map((line) => line.replace('"toSeq":20', '"toSeq":15'))
    writeFileSync(full, `${kept.join('\n')}\n`)
    const source = createNdjsonSource({ path: full })
    expect((await verifyChain({ source, chainId: 'acme', publicKey })).firstBreak).toMatchObject({ reason: 'tail_truncated', seq: 16 })
    // The SIEM copy of the checkpoint at seq 20 as anchor does not make it pass either.
    const anchors = (await store.listCheckpoints('acme')).filter((checkpoint) => checkpoint.seq === 20)
    expect((await verifyChain({ source, chainId: 'acme', publicKey, anchors })).firstBreak).toMatchObject({ reason: 'tail_truncated', seq: 16 })
  })

  it('detects a cut tail inside the range asked for with toSeq, from the range the file declares', async () => {
    const window = { from: '2026-03-01T00:05:00.000Z', to: '2026-03-01T00:15:00.000Z' }
    const path = await writeExport('cut-to-seq.ndjson', createIntegrityService({ store, publicKey }).exportNdjson({ tenantId: 'acme' }, window))
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n')
    // The window 5..12 with seq 12 cut off, verified up to seq 12 (`auditkit verify --to-seq 12`) or past it.
    writeFileSync(path, `${lines.slice(0, -1).join('\n')}\n`)
    for (const toSeq of [12, 40])
      expect((await verifyChain({ source: createNdjsonSource({ path }), chainId: 'acme', publicKey, toSeq })).firstBreak).toMatchObject({ reason: 'tail_truncated', seq: 12 })
    // A range that ends before the cut is intact.
    expect(await verifyChain({ source: createNdjsonSource({ path }), chainId: 'acme', publicKey, toSeq: 11 })).toMatchObject({ ok: true, range: { from: 5, to: 11 } })
  })

  it('verifies the events of a chain whose chain line was removed from the file', async () => {
    const path = await writeExport('hidden-chain.ndjson', exportNdjson({ store }))
    // Without acme's `chain` line, an edit of its events must not go unverified (it used to answer ok for globex only).
    const text = readFileSync(path, 'utf8')
      .split('\n')
      .filter((line) => !line.includes('"kind":"chain","chainId":"acme"'))
      .join('\n')
      .replace('"resource":{"type":"member","id":"m7"}', '"resource":{"type":"member","id":"m8"}')
    writeFileSync(path, text)
    const result = await verifyAll({ source: createNdjsonSource({ path }), publicKey })
    expect(result.ok).toBe(false)
    expect(result.chains.map((chain) => chain.chainId)).toEqual(['acme', 'globex'])
    expect(result.chains[0]?.firstBreak).toMatchObject({ reason: 'modified', seq: 6 })
  })

  it('refuses a line that holds a key twice in one object, whichever value the verifier would have used', async () => {
    const path = await writeExport('repeated.ndjson', exportNdjson({ store, chainIds: ['acme'] }))
    const genuine = readFileSync(path, 'utf8')
    expect((await verifyAll({ source: createNdjsonSource({ path }), publicKey })).ok).toBe(true)
    // JSON.parse keeps the last value, so the hash still matches; a tool that keeps the first shows the other one.
    for (const [original, repeated] of [
      ['"action":"member_invited"', '"action":"project_deleted","action":"member_invited"'],
      ['"resource":{"type":"member","id":"m7"}', '"resource":{"type":"member","id":"m999","id":"m7"}'],
      ['"action":"member_invited"', '"\\u0061ction":"project_deleted","action":"member_invited"'],
    ] as const) {
      const forged = genuine.replace(original, repeated)
      expect(forged).not.toBe(genuine)
      writeFileSync(path, forged)
      await expect(verifyAll({ source: createNdjsonSource({ path }), publicKey })).rejects.toMatchObject({
        code: 'INTEGRITY_ERROR',
        message: expect.stringMatching(/^Line \d+ holds the key "(action|id)" twice/),
      })
    }
  })

  it('refuses files that are not chain exports', async () => {
    const notJson = join(dir, 'not-json.ndjson')
    writeFileSync(notJson, '{"kind":"auditkit-chain","version":1}\n{oops\n')
    await expect(verifyAll({ source: createNdjsonSource({ path: notJson }) })).rejects.toMatchObject({ code: 'INTEGRITY_ERROR', message: 'Line 2 is not JSON' })
    const csv = join(dir, 'audit.csv')
    writeFileSync(csv, 'id,action\n')
    await expect(verifyAll({ source: createNdjsonSource({ path: csv }) })).rejects.toMatchObject({ code: 'INTEGRITY_ERROR' })
    // An empty file, or one with blank lines before its events, has no header either: not "ok: no chains".
    const empty = join(dir, 'empty.ndjson')
    writeFileSync(empty, '')
    await expect(verifyAll({ source: createNdjsonSource({ path: empty }) })).rejects.toMatchObject({ code: 'INTEGRITY_ERROR', message: expect.stringContaining('is not an AuditKit chain export') })
    const blankFirst = join(dir, 'blank-first.ndjson')
    writeFileSync(blankFirst, '\n{"kind":"chain","chainId":"acme","fromSeq":1,"toSeq":0,"head":null}\n')
    await expect(verifyAll({ source: createNdjsonSource({ path: blankFirst }) })).rejects.toMatchObject({ code: 'INTEGRITY_ERROR', message: expect.stringContaining('is not an AuditKit chain export') })
    const badRange = join(dir, 'bad-range.ndjson')
    writeFileSync(badRange, '{"kind":"auditkit-chain","version":1}\n{"kind":"chain","chainId":"acme","fromSeq":"x","toSeq":3,"head":null}\n')
    await expect(verifyAll({ source: createNdjsonSource({ path: badRange }) })).rejects.toMatchObject({ code: 'INTEGRITY_ERROR', message: expect.stringContaining('invalid seq range') })
  })
})
