import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, expect, it } from 'vitest'
import { createAuditLogger, createSiemService, type DeliveryCursor } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'
import { expectCompleteDelivery, startOtlpReceiver } from '@auditkit/test-utils'

const dir = mkdtempSync(join(tmpdir(), 'auditkit-siem-restart-'))
const children: ChildProcess[] = []
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

const SECRET_KEY = Buffer.alloc(32, 5).toString('hex')
const TENANT = 'restart-tenant'
const EVENTS = 600

function startExporter(path: string, instanceId: string): Promise<ChildProcess> {
  const script = fileURLToPath(new URL('./siem-exporter-process.ts', import.meta.url))
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', script, path, instanceId, SECRET_KEY], {
    cwd: fileURLToPath(new URL('.', import.meta.url)),
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  children.push(child)
  return new Promise((resolve, reject) => {
    child.stdout?.setEncoding('utf8').on('data', (text: string) => {
      if (text.includes('started')) resolve(child)
    })
    child.once('exit', (code) => reject(new Error(`exporter ${instanceId} exited early with ${code}`)))
  })
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()))
}

it('an exporter process killed mid-stream is replaced by one that resumes from the checkpoint: nothing lost, nothing skipped', async () => {
  const path = join(dir, 'audit.db')
  // A slow collector, so that the first process is surely killed in the middle of the stream.
  const receiver = await startOtlpReceiver({ protocol: 'http/protobuf', delayMs: 15 })
  const store = createSqliteStore({ path, busyTimeoutMs: 10_000 })
  await store.init()
  const logger = createAuditLogger({ store, onError: () => {} })
  try {
    // The app saves the settings (audited: seq 1) and records events; exporting happens in the child processes.
    const admin = createSiemService({ logger, secretKey: SECRET_KEY })
    await admin.updateSettings(TENANT, { enabled: true, endpoint: receiver.endpoint, protocol: 'http/protobuf' }, { actor: { type: 'user', id: 'admin' } })
    for (let i = 1; i <= EVENTS; i++) {
      void logger.record({ tenantId: TENANT, actor: { type: 'system', id: 'seed' }, action: 'item_created', resource: { type: 'item', id: `i_${i}` }, outcome: 'success' })
    }
    await logger.flush()

    const first = await startExporter(path, 'exporter-1')
    await receiver.waitForRecords(200, 20_000)
    // From now on the collector leaves requests unanswered, so that the first process is still mid-stream when it is
    // killed however long that takes on a busy machine (it would otherwise deliver the rest meanwhile). Set in the same
    // turn as the 200th record was accepted: no later request gets through.
    receiver.failWith({ kind: 'stall' })
    first.kill('SIGKILL')
    await exited(first)
    receiver.failWith(null)
    const checkpoint = await store.getState<DeliveryCursor>('siem.cursor', TENANT)
    expect(checkpoint?.seq).toBeGreaterThanOrEqual(180)
    expect(checkpoint?.seq).toBeLessThan(EVENTS + 1)

    const second = await startExporter(path, 'exporter-2')
    // Done when the checkpoint reaches the head: it is saved only after the collector accepted the last batch.
    const deadline = Date.now() + 30_000
    while ((await store.getState<DeliveryCursor>('siem.cursor', TENANT))?.seq !== EVENTS + 1) {
      if (Date.now() > deadline) throw new Error(`the second exporter did not finish: ${receiver.records.length} records`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    second.kill('SIGTERM')
    await exited(second)
    expect(second.exitCode).toBe(0)

    const records = receiver.records
    // Every event, first deliveries in order; duplicates only as identical copies (same audit.id), and only what the
    // first process had sent but not yet checkpointed (at most its batch in flight).
    expect(expectCompleteDelivery(records, EVENTS + 1)).toBeLessThanOrEqual(20)
    // The second process started right after the saved checkpoint, not from the beginning.
    const fromSecond = records.filter((record) => record.resource['service.name'] === 'exporter-2')
    expect(Number(fromSecond[0]?.attributes['audit.seq'])).toBe((checkpoint?.seq ?? 0) + 1)
    expect((await store.getState<DeliveryCursor>('siem.cursor', TENANT))?.seq).toBe(EVENTS + 1)
  } finally {
    await logger.close()
    await store.close()
    await receiver.close()
  }
})
