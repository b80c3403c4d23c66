import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startOtlpReceiver, startSourceScript, waitFor } from '@auditkit/test-utils'
import type { AuditEventInput } from '../event/schema.js'
import { createAuditLogger } from '../logger/audit-logger.js'
import type { AuditStore } from '../store/types.js'
import { createSqliteStore } from '../stores/sqlite/sqlite-store.js'
import { SIEM_STATE, type DeliveryCursor, type DeliveryError } from './delivery-worker.js'
import { createSiemService, type SiemServiceOptions } from './siem-service.js'

// Review finding: a store call that never settles (a MongoDB driver stuck on a dead primary) held siem.stop() forever,
// and with it the host app's graceful shutdown. stop() now gives up after its timeout, says what it abandoned, and a
// later start resumes from the stored cursor.

const dir = mkdtempSync(join(tmpdir(), 'auditkit-siem-stop-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const ADMIN = { actor: { type: 'user' as const, id: 'admin_stop' } }

const unhandled: unknown[] = []
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason)
}
beforeEach(() => {
  unhandled.length = 0
  process.on('unhandledRejection', onUnhandled)
})
afterEach(() => {
  process.off('unhandledRejection', onUnhandled)
})

const OPTIONS: Partial<SiemServiceOptions> = {
  batchSize: 20,
  pollIntervalMs: 20,
  settingsRefreshMs: 100,
  leaseTtlMs: 2000,
  requestTimeoutMs: 1000,
  retry: { initialDelayMs: 20, maxDelayMs: 100 },
}

/** The store calls of the exporters that the wrapper can make hang. */
const HANGING = new Set(['getState', 'putState', 'acquireLease', 'releaseLease', 'readChain', 'listCheckpoints', 'listState', 'chainHead'])

interface HangingStore {
  store: AuditStore
  /** While set, the next calls of the method (any exporter method when '*') never settle; `reject` settles them later. */
  hang: string | null
  /** Calls left hanging. */
  readonly hung: { method: string; reject(error: Error): void }[]
}

function hangingStore(store: AuditStore): HangingStore {
  const state: HangingStore = {
    store: store,
    hang: null,
    hung: [],
  }
  state.store = new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver)
      if (typeof value !== 'function') return value
      const method = String(property)
      return (...args: unknown[]): unknown => {
        if (HANGING.has(method) && (state.hang === '*' || state.hang === method)) {
          return new Promise((_resolve, reject) => state.hung.push({ method, reject }))
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args)
      }
    },
  })
  return state
}

function event(tenantId: string, n: number): AuditEventInput {
  return { tenantId, actor: { type: 'user', id: 'u_1' }, action: 'project_updated', resource: { type: 'project', id: `p_${n}` }, outcome: 'success' }
}

describe('siem.stop() while a store call never settles', () => {
  for (const method of ['*', 'getState', 'readChain', 'putState', 'acquireLease'] as const) {
    it(`gives up within its timeout (${method === '*' ? 'every exporter call' : method} hangs), reports it, and a later start resumes`, async () => {
      const receiver = await startOtlpReceiver({ protocol: 'http/protobuf' })
      const sqlite = createSqliteStore({ path: join(dir, `hang-${method === '*' ? 'all' : method}.db`) })
      await sqlite.init()
      const logger = createAuditLogger({ store: sqlite, onError: () => {} })
      const wrapped = hangingStore(sqlite)
      const errors: { error: unknown; tenantId: string | undefined }[] = []
      const options = { logger, store: wrapped.store, instanceId: 'hang', onError: (error: unknown, info: { tenantId?: string }) => errors.push({ error, tenantId: info.tenantId }), ...OPTIONS }
      const siem = createSiemService(options)
      let restarted: ReturnType<typeof createSiemService> | null = null
      try {
        await siem.updateSettings('t1', { enabled: true, endpoint: receiver.endpoint, protocol: 'http/protobuf' }, ADMIN)
        await siem.start()
        for (let i = 1; i <= 5; i++) await logger.record(event('t1', i), { delivery: 'await' })
        await receiver.waitForRecords(6)
        // Events appended while the store hangs: never sent by this service, so the restart must send them.
        wrapped.hang = method
        for (let i = 6; i <= 8; i++) await logger.record(event('t1', i), { delivery: 'await' })
        await waitFor(() => wrapped.hung.length > 0 || undefined, `a ${method} call hanging`)

        const startedAt = Date.now()
        const outcome = await Promise.race([
          siem.stop({ timeoutMs: 300 }).then(() => 'stopped' as const),
          new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 5000).unref()),
        ])
        expect(outcome).toBe('stopped')
        // The 1 s grace of a request in flight, the timeout, and slack for a busy machine.
        expect(Date.now() - startedAt).toBeLessThan(2500)
        const abandoned = errors.filter(({ error }) => error instanceof Error && /stop\(\) gave up/.test(error.message))
        expect(abandoned.length).toBeGreaterThan(0)
        expect(abandoned.every(({ error }) => (error as { code?: unknown }).code === 'STORE_UNAVAILABLE')).toBe(true)

        // The abandoned calls reject much later: no unhandled rejection, and nothing written by the stopped service.
        const before = await sqlite.getState<DeliveryCursor>(SIEM_STATE.cursor, 't1')
        const statusBefore = await sqlite.getState<DeliveryError>(SIEM_STATE.status, 't1')
        const hung = wrapped.hung.splice(0)
        for (const call of hung) call.reject(new Error(`late ${call.method} failure`))
        await new Promise((resolve) => setTimeout(resolve, 200))
        expect(unhandled).toEqual([])
        expect(await sqlite.getState<DeliveryCursor>(SIEM_STATE.cursor, 't1')).toEqual(before)
        expect(await sqlite.getState<DeliveryError>(SIEM_STATE.status, 't1')).toEqual(statusBefore)

        // The store answers again (the stuck calls stay stuck or failed): a new start resumes from the cursor.
        wrapped.hang = null
        restarted = createSiemService(options)
        await restarted.start()
        await logger.record(event('t1', 9), { delivery: 'await' })
        // At least once: a batch the stopped service had in hand may come twice.
        const seqs = (): number[] => [...new Set(receiver.records.map((record) => Number(record.attributes['audit.seq'])))].sort((x, y) => x - y)
        await waitFor(() => seqs().includes(10) || undefined, 'seq 10 delivered after the restart')
        expect(seqs()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
        expect(unhandled).toEqual([])
      } finally {
        wrapped.hang = null
        await restarted?.stop()
        await siem.stop({ timeoutMs: 300 })
        await logger.close()
        await sqlite.close()
        await receiver.close()
      }
    })
  }

  it('restarting the same service after it gave up stopping resumes too (the stuck refresh does not block it)', async () => {
    const receiver = await startOtlpReceiver({ protocol: 'http/protobuf' })
    const sqlite = createSqliteStore({ path: join(dir, 'hang-restart-same.db') })
    await sqlite.init()
    const logger = createAuditLogger({ store: sqlite, onError: () => {} })
    const wrapped = hangingStore(sqlite)
    const siem = createSiemService({ logger, store: wrapped.store, instanceId: 'same', onError: () => {}, ...OPTIONS })
    try {
      await siem.updateSettings('t1', { enabled: true, endpoint: receiver.endpoint, protocol: 'http/protobuf' }, ADMIN)
      await siem.start()
      await receiver.waitForRecords(1)
      wrapped.hang = '*'
      // The settings refresh (every 100 ms) hangs too.
      await waitFor(() => wrapped.hung.some((call) => call.method === 'listState') || undefined, 'the refresh hanging')
      await siem.stop({ timeoutMs: 200 })
      wrapped.hang = null
      await siem.start()
      await logger.record(event('t1', 2), { delivery: 'await' })
      await receiver.waitForRecords(2)
      expect(unhandled).toEqual([])
    } finally {
      wrapped.hang = null
      await siem.stop({ timeoutMs: 300 })
      await logger.close()
      await sqlite.close()
      await receiver.close()
    }
  })

  it('rejects a timeoutMs that is not a positive number', async () => {
    const sqlite = createSqliteStore({ path: join(dir, 'hang-options.db') })
    const logger = createAuditLogger({ store: sqlite, onError: () => {} })
    const siem = createSiemService({ logger, onError: () => {} })
    try {
      for (const timeoutMs of [0, -1, Number.NaN]) await expect(siem.stop({ timeoutMs })).rejects.toMatchObject({ code: 'INVALID_OPTIONS' })
    } finally {
      await logger.close()
      await sqlite.close()
    }
  })

  it('lets the process exit once stop() gave up: no timer or keep-alive socket is left running', async () => {
    // A separate process whose store hangs: stop() gives up, the logger and store close, and the process should end.
    const script = join(dir, 'gives-up.mjs')
    writeFileSync(
      script,
      `const [siemUrl, loggerUrl, storeUrl, path] = process.argv.slice(2)
       const { createServer } = await import('node:http')
       const { createSiemService } = await import(siemUrl)
       const { createAuditLogger } = await import(loggerUrl)
       const { createSqliteStore } = await import(storeUrl)
       // A collector accepting everything (an empty ExportLogsServiceResponse), over keep-alive connections.
       let received = 0
       const collector = createServer((request, response) => {
         request.resume()
         request.on('end', () => {
           received++
           response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end()
         })
       })
       // Left listening but unref'd, keeping idle connections long: only a connection the exporter left open (or a
       // timer) can keep this process alive.
       collector.keepAliveTimeout = 120000
       await new Promise((resolve) => collector.listen(0, '127.0.0.1', resolve))
       collector.unref()
       const endpoint = 'http://127.0.0.1:' + collector.address().port + '/v1/logs'
       const sqlite = createSqliteStore({ path })
       await sqlite.init()
       const logger = createAuditLogger({ store: sqlite, onError: () => {} })
       let hang = false
       const store = new Proxy(sqlite, {
         get(target, property) {
           const value = Reflect.get(target, property)
           if (typeof value !== 'function') return value
           return (...args) => (hang && property !== 'close' && property !== 'init' ? new Promise(() => {}) : value.apply(target, args))
         },
       })
       const abandoned = []
       const siem = createSiemService({ logger, store, pollIntervalMs: 20, settingsRefreshMs: 100, onError: (error) => abandoned.push(error.code) })
       await siem.updateSettings('t1', { enabled: true, endpoint, protocol: 'http/protobuf' }, { actor: { type: 'user', id: 'a' } })
       await siem.start()
       while (received === 0) await new Promise((resolve) => setTimeout(resolve, 20))
       hang = true
       await new Promise((resolve) => setTimeout(resolve, 200))
       await siem.stop({ timeoutMs: 300 })
       process.stdout.write((abandoned.includes('STORE_UNAVAILABLE') ? 'gave up' : 'no report') + '\\n')
       await logger.close()
       await sqlite.close()`,
    )
    const child = startSourceScript(
      script,
      [
        new URL('./siem-service.ts', import.meta.url).href,
        new URL('../logger/audit-logger.ts', import.meta.url).href,
        new URL('../stores/sqlite/sqlite-store.ts', import.meta.url).href,
        join(dir, 'gives-up.db'),
      ],
      { cwd: fileURLToPath(new URL('.', import.meta.url)) },
    )
    const ended = await child.exitsWithin(15_000)
    expect(child.stdout).toBe('gave up\n')
    expect(ended).toBe(true)
  }, 30_000)
})
