// Signed checkpoints reach the SIEM through the real exporter and OTLP, and the SIEM's copy is what catches the one
// attack the database cannot show by itself: deleting the newest checkpoints together with the events after them.
import { execFileSync } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { createAuditLogger, createCheckpointer, createSiemService, parseCheckpoints, verifyChain } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'
import { startOtlpReceiver } from '@auditkit/test-utils'

const TENANT = 'siem-anchored'
const dir = mkdtempSync(join(tmpdir(), 'auditkit-integrity-siem-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

it('sends every signed checkpoint to the SIEM, whose copy then anchors verification', async () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const path = join(dir, 'audit.db')
  const receiver = await startOtlpReceiver({ protocol: 'http/protobuf' })
  const store = createSqliteStore({ path })
  const logger = createAuditLogger({ store, onError: () => {} })
  const checkpointer = createCheckpointer({ logger, privateKey, everyEvents: 10, everyMs: 0 })
  const siem = createSiemService({ logger, secretKey: Buffer.alloc(32, 7).toString('hex'), pollIntervalMs: 50, onError: () => {} })
  try {
    await siem.updateSettings(TENANT, { enabled: true, endpoint: receiver.endpoint, protocol: 'http/protobuf' }, { actor: { type: 'user', id: 'admin' } })
    await siem.start()
    for (let n = 1; n <= 34; n++) {
      await logger.record({ tenantId: TENANT, actor: { type: 'user', id: 'u1' }, action: 'secret_rotated', resource: { type: 'secret', id: `s${n}` }, outcome: 'success' }, { delivery: 'await' })
    }
    await checkpointer.close() // signs the final head
    const stored = await store.listCheckpoints(TENANT)
    expect(stored.length).toBeGreaterThanOrEqual(4)

    // Wait until the SIEM holds a copy of every checkpoint.
    const deadline = Date.now() + 20_000
    const siemCopies = () => receiver.records.filter((record) => record.eventName === 'audit_checkpoint_signed')
    while (siemCopies().length < stored.length) {
      if (Date.now() > deadline) throw new Error(`the SIEM received ${siemCopies().length} of ${stored.length} checkpoints`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const anchors = parseCheckpoints(siemCopies().map((record) => JSON.stringify(record.attributes)).join('\n'))
    expect(anchors.map((anchor) => anchor.signature).sort()).toEqual(stored.map((checkpoint) => checkpoint.signature).sort())
    expect(await verifyChain({ source: store, chainId: TENANT, publicKey, anchors })).toMatchObject({ ok: true })

    // The attacker removes the last two checkpoints and every event after the one left: consistent in the database...
    const kept = stored.at(-3)!
    execFileSync('sqlite3', [path], { input: `DELETE FROM checkpoints WHERE seq > ${kept.seq}; DELETE FROM events WHERE seq > ${kept.seq};` })
    expect((await verifyChain({ source: store, chainId: TENANT, publicKey })).ok).toBe(true)
    // ...but not with the SIEM's copy.
    expect((await verifyChain({ source: store, chainId: TENANT, publicKey, anchors })).firstBreak).toMatchObject({ reason: 'tail_truncated', seq: kept.seq + 1 })
  } finally {
    await siem.stop()
    await logger.close()
    await store.close()
    await receiver.close()
  }
})
