import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'libsql'
import { afterAll, describe, expect, it } from 'vitest'
import { expectIntactChain, runStoreContract } from '@auditkit/test-utils'
import { isAuditKitError } from '../../errors.js'
import type { AuditEvent, AuditEventInput } from '../../event/schema.js'
import { createSealer } from '../../integrity/hash.js'
import { createAuditLogger } from '../../logger/audit-logger.js'
import type { AuditStore } from '../../store/types.js'
import { createSqliteStore } from './sqlite-store.js'

const dir = mkdtempSync(join(tmpdir(), 'auditkit-sqlite-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const paths = new WeakMap<AuditStore, string>()
let created = 0

runStoreContract(
  'sqlite',
  async () => {
    const path = join(dir, `contract-${++created}.db`)
    const store = createSqliteStore({ path })
    paths.set(store, path)
    return store
  },
  {
    openSecondInstance: async (store) => {
      const path = paths.get(store)
      if (path === undefined) throw new Error('not a store of this test')
      return createSqliteStore({ path })
    },
  },
)

describe('sqlite specifics', () => {
  const input = (tenantId: string, n: number): AuditEventInput => ({
    tenantId,
    actor: { type: 'user', id: `user-${n % 3}` },
    action: 'project_created',
    resource: { type: 'project', id: `p-${n}` },
    outcome: 'success',
  })

  it('runs in WAL mode with one index per filter', async () => {
    const path = join(dir, 'wal.db')
    const store = createSqliteStore({ path })
    await store.init()
    const probe = new Database(path)
    try {
      expect(probe.prepare('PRAGMA journal_mode').get([])).toMatchObject({ journal_mode: 'wal' })
      const indexes = (probe.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'").all([]) as { name: string }[])
        .map((row) => row.name)
        .sort()
      expect(indexes).toEqual(
        expect.arrayContaining(['events_by_action', 'events_by_actor', 'events_by_chain', 'events_by_id', 'events_by_resource_id', 'events_by_resource_type', 'events_by_time']),
      )
    } finally {
      probe.close()
      await store.close()
    }
  })

  it('keeps events, state and chain heads across close and reopen', async () => {
    const path = join(dir, 'reopen.db')
    const first = createSqliteStore({ path })
    const logger = createAuditLogger({ store: first })
    for (let n = 0; n < 5; n++) await logger.record(input('tenant-r', n))
    await logger.close()
    await first.putState('settings', 'siem', { enabled: true })
    const head = await first.chainHead('tenant-r')
    await first.close()
    await expect(first.chainHead('tenant-r')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' })

    const second = createSqliteStore({ path })
    try {
      expect(await second.chainHead('tenant-r')).toEqual(head)
      expect(await second.getState('settings', 'siem')).toEqual({ enabled: true })
      const next = createAuditLogger({ store: second })
      await next.record(input('tenant-r', 5), { delivery: 'await' })
      await next.close()
      expect(await expectIntactChain(second, 'tenant-r')).toBe(6)
    } finally {
      await second.close()
    }
  })

  it('opens a file read-only without changing it, and refuses writes', async () => {
    const path = join(dir, 'evidence dir #1', 'audit.db')
    mkdirSync(dirname(path))
    const writer = createSqliteStore({ path })
    const logger = createAuditLogger({ store: writer })
    for (let n = 0; n < 3; n++) await logger.record(input('tenant-ro', n))
    await logger.close()
    await writer.close()
    const before = readFileSync(path)

    const reader = createSqliteStore({ path, readonly: true })
    try {
      expect(await expectIntactChain(reader, 'tenant-ro')).toBe(3)
      expect((await reader.query({ tenantId: 'tenant-ro', from: '1970-01-01T00:00:00.000Z', to: '9999-01-01T00:00:00.000Z', limit: 10 })).items).toHaveLength(3)
      const [event] = await reader.readChain('tenant-ro', 0, 1)
      await expect(reader.append([{ ...(event as AuditEvent), id: 'another' }], createSealer())).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' })
      await expect(reader.putState('s', 'k', 1)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' })
    } finally {
      await reader.close()
    }
    expect(readFileSync(path).equals(before)).toBe(true)
    await expect(createSqliteStore({ path: join(dir, 'absent.db'), readonly: true }).init()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' })
  })

  it('turns driver failures into STORE_UNAVAILABLE with the cause', async () => {
    const store = createSqliteStore({ path: join(dir, 'no-such-folder', 'x.db') })
    const error = await store.init().then(
      () => null,
      (reason: unknown) => reason,
    )
    expect(isAuditKitError(error)).toBe(true)
    expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE' })
    expect((error as Error).cause).toBeInstanceOf(Error)
    expect(() => createSqliteStore({ path: '' })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
  })

  it('works in memory for tests', async () => {
    const store = createSqliteStore({ path: ':memory:' })
    const logger = createAuditLogger({ store })
    const { event } = await logger.record(input('tenant-m', 1), { delivery: 'await' })
    expect(await store.get('tenant-m', event?.id ?? '')).toEqual(event)
    await logger.close()
    await store.close()
  })

  it('two processes writing to one file keep every chain gapless and linked', async () => {
    const path = join(dir, 'processes.db')
    await createSqliteStore({ path }).close()
    const writer = fileURLToPath(new URL('./test-support/concurrent-writer.ts', import.meta.url))
    const perProcess = 400
    const writers = ['writer-a', 'writer-b'].map((name) =>
      spawn(process.execPath, ['--import', 'tsx', '--conditions=source', writer, path, name, String(perProcess)], {
        cwd: fileURLToPath(new URL('.', import.meta.url)),
        stdio: ['pipe', 'pipe', 'inherit'],
      }),
    )
    const outputs = writers.map((child) => {
      let text = ''
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (text += chunk))
      const ready = new Promise<void>((resolve) => {
        const check = (): void => (text.includes('ready\n') ? resolve() : void child.stdout.once('data', check))
        check()
      })
      const done = new Promise<string>((resolve, reject) =>
        child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`writer exited with ${code}`)))),
      )
      return { ready, done }
    })
    await Promise.all(outputs.map((output) => output.ready))
    for (const child of writers) child.stdin.write('go\n')
    const results = (await Promise.all(outputs.map((output) => output.done))).map(
      (text) => JSON.parse(text.slice(text.indexOf('ready\n') + 6)) as { ids: string[]; stats: { written: number } },
    )
    for (const result of results) expect(result.stats.written).toBe(perProcess)
    const store = createSqliteStore({ path })
    try {
      const total = (await expectIntactChain(store, 'tenant-0')) + (await expectIntactChain(store, 'tenant-1'))
      expect(total).toBe(perProcess * 2)
      const stored = [...(await store.readChain('tenant-0', 0, 10_000)), ...(await store.readChain('tenant-1', 0, 10_000))]
      expect(stored.map((event) => event.id).sort()).toEqual(results.flatMap((result) => result.ids).sort())
      // The writers' events interleave within each chain: their transactions really overlapped.
      const switches = stored.filter((event, i) => i > 0 && event.actor.id !== stored[i - 1]?.actor.id).length
      expect(switches).toBeGreaterThan(4)
    } finally {
      await store.close()
    }
  }, 90_000)
})
