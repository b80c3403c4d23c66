// Durability when the SQLite file is taken away under a running logger (deleted, or replaced by a restored copy):
// an event that `await` delivery reports durable must be in the file a restarted app opens.
import { mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'libsql'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { createAuditLogger, verifyAll, type AuditErrorCode, type AuditEventInput } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'

const dir = mkdtempSync(join(tmpdir(), 'auditkit-durability-file-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let files = 0

const event = (n: number): AuditEventInput => ({
  tenantId: 'tenant-d',
  actor: { type: 'user', id: 'u-1' },
  action: 'item_created',
  resource: { type: 'item', id: `i-${n}` },
  outcome: 'success',
})

function removeDatabase(path: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true })
}

describe.each(['thread', 'inline'] as const)('sqlite file taken away under a running logger (writer: %s)', (writer) => {
  it('a deleted file: later events go to a file at the path, not to the unlinked one, and the failure is reported', async () => {
    const path = join(dir, `deleted-${++files}.db`)
    const store = createSqliteStore({ path, writer })
    const errors: AuditErrorCode[] = []
    const logger = createAuditLogger({ store, retry: { initialDelayMs: 1, maxDelayMs: 20 }, onError: (error) => errors.push(error.code) })
    for (let n = 0; n < 5; n++) await logger.record(event(n), { delivery: 'await' })
    removeDatabase(path)
    const after = await logger.record(event(5), { delivery: 'await' })
    await logger.close()
    await store.close()

    // What a restarted app sees.
    const reopened = createSqliteStore({ path, writer: 'inline' })
    expect(await reopened.get('tenant-d', after.id)).not.toBeNull()
    expect((await verifyAll({ source: reopened })).ok).toBe(true)
    await reopened.close()
    expect(errors).toContain('STORE_UNAVAILABLE')
    expect(logger.stats().writeFailures).toBeGreaterThan(0)
  })

  it('a file replaced by a restored copy: later events continue its chain, gapless and verifiable', async () => {
    const path = join(dir, `replaced-${++files}.db`)
    const store = createSqliteStore({ path, writer })
    const logger = createAuditLogger({ store, retry: { initialDelayMs: 1, maxDelayMs: 20 }, onError: () => {} })
    for (let n = 0; n < 5; n++) await logger.record(event(n), { delivery: 'await' })
    // The app reads the chain (as the SIEM exporter does), so its reading connection is open with statements ready.
    expect(await store.readChain('tenant-d', 0, 100)).toHaveLength(5)
    // A backup taken now, then restored over the file.
    const connection = new Database(path)
    connection.exec(`VACUUM INTO '${path}.backup'`)
    connection.close()
    removeDatabase(path)
    renameSync(`${path}.backup`, path)
    const after = await logger.record(event(5), { delivery: 'await' })
    expect(after.event?.seq).toBe(6)
    // The app's reads see the file at the path too.
    expect((await store.readChain('tenant-d', 0, 100)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6])
    await logger.close()
    await store.close()

    const reopened = createSqliteStore({ path, writer: 'inline' })
    expect((await reopened.readChain('tenant-d', 0, 100)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6])
    expect((await verifyAll({ source: reopened })).ok).toBe(true)
    await reopened.close()
  })

  it('a directory where the file was: writes fail, are retried, reported and counted, the queue stays bounded, and all is written once fixed', async () => {
    const path = join(dir, `blocked-${++files}.db`)
    const store = createSqliteStore({ path, writer })
    const errors: AuditErrorCode[] = []
    const logger = createAuditLogger({
      store,
      maxQueueSize: 20,
      retry: { initialDelayMs: 1, maxDelayMs: 20 },
      onError: (error) => errors.push(error.code),
    })
    await logger.record(event(0), { delivery: 'await' })
    removeDatabase(path)
    mkdirSync(path)
    const accepted: string[] = []
    let refused = 0
    for (let n = 1; n <= 30; n++) {
      await logger.record(event(n)).then(
        (result) => accepted.push(result.id),
        () => refused++,
      )
    }
    expect(accepted).toHaveLength(20)
    expect(refused).toBe(10)
    await vi.waitFor(() => expect(logger.stats().writeFailures).toBeGreaterThanOrEqual(3), { timeout: 5000, interval: 5 })
    expect(logger.stats()).toMatchObject({ written: 1, queued: 20, rejected: 10 })
    expect(errors).toContain('QUEUE_FULL')
    expect(errors).toContain('STORE_UNAVAILABLE')

    rmSync(path, { recursive: true })
    await logger.flush()
    await logger.close()
    expect(logger.stats()).toMatchObject({ written: 21, queued: 0 })
    const chain = await store.readChain('tenant-d', 0, 100)
    // The file is new: the events written before it was removed went with it.
    expect(chain.map((e) => e.id)).toEqual(accepted)
    expect(chain.map((e) => e.seq)).toEqual(accepted.map((_, i) => i + 1))
    expect((await verifyAll({ source: store })).ok).toBe(true)
    await store.close()
  })
})
