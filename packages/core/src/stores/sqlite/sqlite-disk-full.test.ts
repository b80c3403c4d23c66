import { spawnSync } from 'node:child_process'
import { closeSync, copyFileSync, mkdtempSync, openSync, rmSync, rmdirSync, statSync, truncateSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'libsql'
import { afterEach, describe, expect, it } from 'vitest'
import { expectIntactChain } from '@auditkit/test-utils'
import type { AuditKitError } from '../../errors.js'
import type { AuditEventInput } from '../../event/schema.js'
import { createAuditLogger, type AuditLogger } from '../../logger/audit-logger.js'
import type { AuditStore } from '../../store/types.js'
import { createSqliteStore } from './sqlite-store.js'

/** A small tmpfs (root on Linux), standing for a disk that fills up. */
const smallDisk = (() => {
  const run = (args: string[]): boolean => spawnSync('mount', args, { stdio: 'ignore' }).status === 0
  const mount = (sizeKiB: number): { path: string; unmount(): void } => {
    const target = mkdtempSync(join(tmpdir(), 'auditkit-full-'))
    if (!run(['-t', 'tmpfs', '-o', `size=${sizeKiB}k`, 'tmpfs', target])) throw new Error('cannot mount a tmpfs')
    // Lazily: the driver may hold the file open until its statements are garbage-collected.
    return {
      path: target,
      unmount: () => {
        spawnSync('umount', ['-l', target])
        rmdirSync(target)
      },
    }
  }
  let available = false
  try {
    mount(64).unmount()
    available = true
  } catch {
    console.warn('SKIPPED: a full disk is simulated with a small tmpfs mount, which needs root on Linux')
  }
  return { available, mount }
})()

/** Fills what is left of the file system holding `dir`; returns the filler's path. */
function fill(dir: string): string {
  const filler = join(dir, 'filler')
  const fd = openSync(filler, 'a')
  try {
    for (const size of [65_536, 4096, 512, 1]) {
      const chunk = Buffer.alloc(size, 1)
      try {
        for (;;) writeSync(fd, chunk)
      } catch (error) {
        if ((error as { code?: string }).code !== 'ENOSPC') throw error
      }
    }
  } finally {
    closeSync(fd)
  }
  return filler
}

const input = (tenantId: string, n: number): AuditEventInput => ({
  tenantId,
  actor: { type: 'user', id: `user-${n % 3}` },
  action: 'project_updated',
  resource: { type: 'project', id: `p-${n}` },
  outcome: 'success',
  // Large enough that a few events need new pages.
  metadata: { note: 'x'.repeat(2000), n },
})

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 6000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10))
  if (!condition()) throw new Error(`timed out waiting for ${what}`)
}

const cleanups: (() => void | Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

interface Reported {
  error: AuditKitError
  attempt?: number
  queued: number
}

function loggerOn(store: AuditStore): { logger: AuditLogger; errors: Reported[] } {
  const errors: Reported[] = []
  const logger = createAuditLogger({
    store,
    retry: { initialDelayMs: 10, maxDelayMs: 100 },
    awaitTimeoutMs: Number.POSITIVE_INFINITY,
    onError: (error, info) => errors.push({ error, ...info }),
  })
  return { logger, errors }
}

function expectDiskFullReports(errors: readonly Reported[], operation: 'append' | 'init', queued: number): void {
  // Retried: one report per attempt, with the attempt number growing (the backoff grows with it), the events kept.
  expect(errors.slice(0, 3)).toEqual(
    [1, 2, 3].map((attempt) => ({
      error: expect.objectContaining({ code: 'STORE_UNAVAILABLE', message: `sqlite ${operation} failed: database or disk is full` }),
      attempt,
      queued,
    })),
  )
}

/** Every event of the chain once, gapless, linked and hashed, in the order recorded. */
async function expectWrittenInOrder(store: AuditStore, ids: readonly string[]): Promise<void> {
  expect(await expectIntactChain(store, 't')).toBe(ids.length)
  const chain = await store.readChain('t', 0, ids.length + 1)
  expect(chain.map((event) => event.id)).toEqual(ids)
}

/** A copy of the database file alone (no -wal beside it), as an admin takes it after the app stopped, holds `count`. */
async function expectFileAloneHolds(path: string, count: number): Promise<void> {
  const copyDir = mkdtempSync(join(tmpdir(), 'auditkit-full-copy-'))
  try {
    copyFileSync(path, join(copyDir, 'copy.db'))
    const copy = createSqliteStore({ path: join(copyDir, 'copy.db'), readonly: true })
    try {
      expect(await expectIntactChain(copy, 't')).toBe(count)
    } finally {
      await copy.close()
    }
  } finally {
    rmSync(copyDir, { recursive: true, force: true })
  }
}

describe.skipIf(!smallDisk.available)('sqlite store on a full disk', () => {
  for (const writer of ['thread', 'inline'] as const) {
    describe(`writer: '${writer}'`, () => {
      it('record() still answers, the failure is reported as a full disk, counted and retried, and every queued event is written in order once space is back', { timeout: 120_000 }, async () => {
        const disk = smallDisk.mount(4096)
        cleanups.push(() => disk.unmount())
        const store = createSqliteStore({ path: join(disk.path, 'audit.db'), writer })
        cleanups.push(() => store.close().catch(() => undefined))
        const { logger, errors } = loggerOn(store)
        const ids: string[] = []
        for (let n = 0; n < 5; n++) ids.push((await logger.record(input('t', n), { delivery: 'await' })).id)

        const filler = fill(disk.path)
        // `async` delivery answers once queued: a full disk is no error of the caller's.
        for (let n = 5; n < 50; n++) ids.push((await logger.record(input('t', n))).id)
        let awaited: 'pending' | 'settled' = 'pending'
        const durable = logger.record(input('t', 50), { delivery: 'await' }).finally(() => (awaited = 'settled'))
        for (let n = 51; n < 60; n++) ids.push((await logger.record(input('t', n))).id)
        await until(() => errors.length >= 3, 'three failed attempts')
        expectDiskFullReports(errors, 'append', 55)
        expect(logger.stats()).toMatchObject({
          accepted: 60,
          written: 5,
          queued: 55,
          rejected: 0,
          lastError: expect.objectContaining({ code: 'STORE_UNAVAILABLE', message: expect.stringMatching(/disk is full/) }),
        })
        expect(logger.stats().writeFailures).toBeGreaterThanOrEqual(3)
        // `await` delivery waits for durability (up to awaitTimeoutMs, here unbounded).
        expect(awaited).toBe('pending')

        rmSync(filler)
        const { id, event } = await durable
        ids.splice(50, 0, id)
        expect(event?.seq).toBe(51)
        await logger.flush()
        expect(logger.stats()).toMatchObject({ accepted: 60, written: 60, queued: 0 })
        await expectWrittenInOrder(store, ids)
        await logger.close()
        await store.close()
        await expectFileAloneHolds(join(disk.path, 'audit.db'), 60)
      })

      it('a full disk at start-up (creating the file) is reported as such and retried; the queued events are written once space is back', { timeout: 120_000 }, async () => {
        const disk = smallDisk.mount(1024)
        cleanups.push(() => disk.unmount())
        const filler = fill(disk.path)
        const store = createSqliteStore({ path: join(disk.path, 'data', 'audit.db'), writer })
        cleanups.push(() => store.close().catch(() => undefined))
        const { logger, errors } = loggerOn(store)
        const ids: string[] = []
        for (let n = 0; n < 5; n++) ids.push((await logger.record(input('t', n))).id)
        const durable = logger.record(input('t', 5), { delivery: 'await' })
        await until(() => errors.length >= 3, 'three failed attempts')
        expectDiskFullReports(errors, 'init', 6)
        expect(logger.stats()).toMatchObject({ written: 0, queued: 6 })

        rmSync(filler)
        ids.push((await durable).id)
        await logger.flush()
        await expectWrittenInOrder(store, ids)
        await logger.close()
        await store.close()
      })

      it('a full disk during the WAL checkpoint loses no committed event; the file is whole again once space is back and the store closed', { timeout: 300_000 }, async () => {
        const disk = smallDisk.mount(96 * 1024)
        cleanups.push(() => disk.unmount())
        const path = join(disk.path, 'audit.db')
        const store = createSqliteStore({ path, writer })
        cleanups.push(() => store.close().catch(() => undefined))
        const { logger } = loggerOn(store)
        const walFrames = (): number => Math.max(0, Math.floor(((statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0) - 32) / (4096 + 24)))
        const ids: string[] = []
        // Up to just below the automatic checkpoint (10,000 WAL pages, see connectionPragmas).
        while (walFrames() < 9700) {
          for (let i = walFrames() < 9000 ? 200 : 10; i > 0; i--) ids.push((await logger.record(input('t', ids.length))).id)
          await logger.flush()
        }
        // Room for the next commits in the WAL, none for copying 40 MB of pages into the database file.
        const filler = fill(disk.path)
        truncateSync(filler, statSync(filler).size - 4 * 1024 * 1024)
        for (let i = 0; i < 400; i++) ids.push((await logger.record(input('t', ids.length))).id)
        await logger.flush()
        expect(walFrames()).toBeGreaterThanOrEqual(10_000) // the automatic checkpoint was due
        const probe = new Database(path)
        try {
          // ... and cannot run: the disk is full.
          expect(() => probe.exec('PRAGMA wal_checkpoint(PASSIVE)')).toThrow(/disk is full/)
        } finally {
          probe.close()
        }
        await expectWrittenInOrder(store, ids)

        rmSync(filler)
        for (let i = 0; i < 10; i++) ids.push((await logger.record(input('t', ids.length))).id)
        await logger.close()
        await expectWrittenInOrder(store, ids)
        await store.close()
        await expectFileAloneHolds(path, ids.length)
      })

      it('a full disk at close() keeps every event (in the WAL) and says so, instead of leaving a database file that silently misses them', { timeout: 120_000 }, async () => {
        const disk = smallDisk.mount(4096)
        cleanups.push(() => disk.unmount())
        const path = join(disk.path, 'audit.db')
        const store = createSqliteStore({ path, writer })
        cleanups.push(() => store.close().catch(() => undefined))
        const { logger } = loggerOn(store)
        const ids: string[] = []
        for (let n = 0; n < 200; n++) ids.push((await logger.record(input('t', n))).id)
        await logger.close()
        const filler = fill(disk.path)

        const closed = store.close()
        await expect(closed).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', message: expect.stringMatching(/disk is full/) })
        await expect(closed).rejects.toThrow(`${path}-wal`)
        await expect(store.chainHead('t')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' }) // closed all the same

        rmSync(filler)
        // Nothing acknowledged is lost: the next open reads the WAL, and its close folds it into the file.
        const reopened = createSqliteStore({ path, writer })
        await expectWrittenInOrder(reopened, ids)
        await reopened.close()
        await expectFileAloneHolds(path, 200)
      })

      it("logger.close() giving up on a full disk says why, not only that it gave up", { timeout: 120_000 }, async () => {
        const disk = smallDisk.mount(4096)
        cleanups.push(() => disk.unmount())
        const store = createSqliteStore({ path: join(disk.path, 'audit.db'), writer })
        cleanups.push(() => store.close().catch(() => undefined))
        const { logger, errors } = loggerOn(store)
        await logger.record(input('t', 0), { delivery: 'await' })
        fill(disk.path)
        for (let n = 1; n < 20; n++) void logger.record(input('t', n))
        await until(() => errors.length >= 1, 'a failed write')
        await expect(logger.close({ timeoutMs: 300 })).rejects.toMatchObject({
          code: 'STORE_UNAVAILABLE',
          message: expect.stringMatching(/close\(\) gave up after 300 ms with 19 events not written to the sqlite store.*database or disk is full/),
        })
      })
    })
  }

  it("the SIEM exporter's state writes (settings, cursor, lease, checkpoints) fail as a full disk, change nothing, and work once space is back", { timeout: 120_000 }, async () => {
    const disk = smallDisk.mount(2048)
    cleanups.push(() => disk.unmount())
    const store = createSqliteStore({ path: join(disk.path, 'audit.db') })
    cleanups.push(() => store.close().catch(() => undefined))
    await store.putState('siem-cursor', 't', { seq: 1 })
    expect(await store.acquireLease('siem:t', 'a', 60_000)).toBe(true)
    const filler = fill(disk.path)

    const diskFull = { code: 'STORE_UNAVAILABLE', message: expect.stringMatching(/disk is full/) }
    await expect(store.putState('siem-cursor', 't', { seq: 2, pad: 'x'.repeat(10_000) })).rejects.toMatchObject(diskFull)
    await expect(store.acquireLease('siem:u', 'a', 60_000)).rejects.toMatchObject(diskFull)
    const checkpoint = { chainId: 't', seq: 1, hash: 'h', createdAt: new Date().toISOString(), prevSignature: '', signature: 's', keyId: 'k' }
    await expect(store.appendCheckpoint(checkpoint)).rejects.toMatchObject(diskFull)
    expect(await store.getState('siem-cursor', 't')).toEqual({ seq: 1 })
    expect(await store.lastCheckpoint('t')).toBeNull()

    rmSync(filler)
    await store.putState('siem-cursor', 't', { seq: 2 })
    expect(await store.getState('siem-cursor', 't')).toEqual({ seq: 2 })
    expect(await store.acquireLease('siem:u', 'a', 60_000)).toBe(true)
    await store.appendCheckpoint(checkpoint)
    expect(await store.lastCheckpoint('t')).toEqual(checkpoint)
    await store.close()
  })
})
