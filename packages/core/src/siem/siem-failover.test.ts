import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { decodeExportLogsRequest, expectCompleteDelivery, startOtlpReceiver, storeWithCalls, waitFor } from '@auditkit/test-utils'
import type { AuditEventInput } from '../event/schema.js'
import { createAuditLogger, type AuditLogger } from '../logger/audit-logger.js'
import { createSqliteStore } from '../stores/sqlite/sqlite-store.js'
import type { AuditStore } from '../store/types.js'
import { SIEM_STATE, type DeliveryCursor, type DeliveryError } from './delivery-worker.js'
import { createSiemService, type SiemService, type SiemServiceOptions } from './siem-service.js'
import type { SiemProtocol } from './settings.js'

// Two app instances (distinct instanceId, each with its own handle on one SQLite file) exporting one tenant, as
// replicas of an app do: the lease must keep the collector's requested delay and the status right across them.

const dir = mkdtempSync(join(tmpdir(), 'auditkit-siem-failover-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const ADMIN = { actor: { type: 'user' as const, id: 'admin_1' } }
const TENANT = 'failover'
let files = 0

interface Instance {
  /** This instance's own handle on the shared file. */
  store: AuditStore
  logger: AuditLogger
  siem: SiemService
  errors: unknown[]
  /** Simulates a crash of the process: from now on this instance's exporter reaches nothing in the store. */
  crash(): void
  close(): Promise<void>
}

async function instance(path: string, id: string, overrides: Partial<SiemServiceOptions> = {}): Promise<Instance> {
  const store = createSqliteStore({ path, busyTimeoutMs: 10_000 })
  await store.init()
  const logger = createAuditLogger({ store, onError: () => {} })
  const errors: unknown[] = []
  let crashed = false
  // A crashed process writes nothing more and renews nothing: its lease stays in the store until it expires. Every
  // store call of its exporter fails from then on, so it cannot touch the shared file (nor, without a cursor, send).
  const exporterStore = storeWithCalls(store, (_method, call) => (crashed ? Promise.reject(new Error(`instance ${id} crashed`)) : call()))
  const siem = createSiemService({
    logger,
    store: exporterStore,
    instanceId: id,
    serviceName: `instance-${id}`,
    batchSize: 50,
    pollIntervalMs: 50,
    // A lease far shorter than the delays the collector asks for, so that a holder that stops renewing it while it
    // waits loses it within the test.
    leaseTtlMs: 1000,
    requestTimeoutMs: 600,
    retry: { initialDelayMs: 50, maxDelayMs: 200 },
    onError: (error) => errors.push(error),
    ...overrides,
  })
  return {
    store,
    logger,
    siem,
    errors,
    crash() {
      crashed = true
    },
    async close() {
      await siem.stop()
      await logger.close()
      await store.close()
    },
  }
}

function event(n: number): AuditEventInput {
  return { tenantId: TENANT, actor: { type: 'user', id: 'u_1' }, action: 'project_updated', resource: { type: 'project', id: `p_${n}` }, outcome: 'success' }
}

const statusOf = (store: AuditStore): Promise<DeliveryError | null> => store.getState<DeliveryError>(SIEM_STATE.status, TENANT)
const cursorOf = (store: AuditStore): Promise<DeliveryCursor | null> => store.getState<DeliveryCursor>(SIEM_STATE.cursor, TENANT)
const resultOf = (error: unknown): unknown => (error as { result?: unknown }).result

describe.each<SiemProtocol>(['http/protobuf', 'grpc'])('the lease holder waits out a Retry-After longer than its lease, over %s', (protocol) => {
  it('keeps the lease: no request from either instance before the collector\'s delay, then the holder delivers', async () => {
    const receiver = await startOtlpReceiver({ protocol })
    const path = join(dir, `retry-after-${++files}.db`)
    const a = await instance(path, 'a')
    let b: Instance | undefined
    try {
      // 3 s: three lease lifetimes (HTTP Retry-After, gRPC RetryInfo).
      receiver.failWith({ kind: 'status', status: 503, retryAfterSeconds: 3 }, { times: 1 })
      await a.siem.start()
      await a.siem.updateSettings(TENANT, { enabled: true, endpoint: receiver.endpoint, protocol }, ADMIN)
      await waitFor(async () => (await statusOf(a.store))?.attempts === 1 || undefined, 'the 503 stored by a')
      b = await instance(path, 'b')
      await b.siem.start()
      await receiver.waitForRecords(1, 10_000)
      const [refused, delivered] = receiver.requests
      expect(receiver.requests.map((request) => request.answeredStatus)).toEqual([503, 200])
      expect((delivered?.receivedAt ?? 0) - (refused?.receivedAt ?? 0)).toBeGreaterThanOrEqual(2950)
      // The holder kept its lease while it waited: it sent the retry, and the other instance never exported.
      expect(receiver.records[0]?.resource['service.name']).toBe('instance-a')
      expect(b.errors).toEqual([])
      expectCompleteDelivery(receiver.records, 1)
      await waitFor(async () => ((await a.siem.status(TENANT)).state === 'up_to_date' ? true : undefined), 'up_to_date')
      expect((await a.siem.status(TENANT)).lastError).toBeNull()
    } finally {
      await b?.close()
      await a.close()
      await receiver.close()
    }
  })
})

describe('an instance that takes a tenant over from a crashed holder', () => {
  it.each<[string, SiemProtocol]>([
    ['a Retry-After', 'http/protobuf'],
    ['its own backoff', 'grpc'],
  ])('waits until the stored nextAttemptAt (%s, over %s) and carries on the attempt count', async (kind, protocol) => {
    const receiver = await startOtlpReceiver({ protocol })
    const path = join(dir, `takeover-${++files}.db`)
    const withRetryAfter = kind === 'a Retry-After'
    // Without a Retry-After the backoff alone must outlast the lease: 1-2 s for the first retry, 2-4 s for the second.
    const options: Partial<SiemServiceOptions> = withRetryAfter ? {} : { retry: { initialDelayMs: 2000, maxDelayMs: 8000 } }
    const a = await instance(path, 'a', options)
    let b: Instance | undefined
    try {
      receiver.failWith({ kind: 'status', status: 503, ...(withRetryAfter ? { retryAfterSeconds: 2 } : {}) }, { times: 1 })
      await a.siem.start()
      await a.siem.updateSettings(TENANT, { enabled: true, endpoint: receiver.endpoint, protocol }, ADMIN)
      const stored = await waitFor(async () => {
        const status = await statusOf(a.store)
        return status?.attempts === 1 ? status : undefined
      }, 'the 503 stored by a')
      // The holder dies during its backoff, its lease left in the store; the next request fails again.
      a.crash()
      receiver.failWith({ kind: 'status', status: 503 }, { times: 1 })
      b = await instance(path, 'b', options)
      await b.siem.start()
      const second = await waitFor(async () => {
        const status = await statusOf(a.store)
        return status && status.attempts !== 1 ? status : undefined
      }, 'the second failure stored by b')
      const nextAttemptAt = Date.parse(stored.nextAttemptAt)
      expect(nextAttemptAt - Date.parse(stored.at)).toBeGreaterThanOrEqual(withRetryAfter ? 2000 : 1000)
      // Nothing reached the collector before the delay asked for (or the backoff) elapsed, from either instance.
      expect(receiver.requests.map((request) => request.answeredStatus)).toEqual([503, 503])
      expect(receiver.requests[1]?.receivedAt ?? 0).toBeGreaterThanOrEqual(nextAttemptAt - 5)
      // The attempts go on counting, and the backoff grows from there instead of starting over.
      expect(second.attempts).toBe(2)
      if (!withRetryAfter) expect(Date.parse(second.nextAttemptAt) - Date.parse(second.at)).toBeGreaterThanOrEqual(2000)
      expect(b.errors.map(resultOf)).toEqual(['unavailable'])
    } finally {
      await b?.close()
      await a.close()
      await receiver.close()
    }
  })
})

describe('a holder stopped during a long Retry-After', () => {
  it('stops at once and releases the lease; the instance taking over still waits for the collector', async () => {
    const receiver = await startOtlpReceiver({ protocol: 'http/protobuf' })
    const path = join(dir, `stopped-${++files}.db`)
    const a = await instance(path, 'a')
    const b = await instance(path, 'b')
    try {
      receiver.failWith({ kind: 'status', status: 503, retryAfterSeconds: 30 }, { times: 1 })
      await a.siem.start()
      await a.siem.updateSettings(TENANT, { enabled: true, endpoint: receiver.endpoint, protocol: 'http/protobuf' }, ADMIN)
      const stored = await waitFor(async () => (await statusOf(a.store)) ?? undefined, 'the 503 stored by a')
      await b.siem.start()
      const stopping = Date.now()
      await a.siem.stop()
      expect(Date.now() - stopping).toBeLessThan(1000)
      // A rolling deploy: b takes the released lease at once, and waits out what the collector asked for.
      await new Promise((resolve) => setTimeout(resolve, 1500))
      expect(receiver.requests).toHaveLength(1)
      expect(await statusOf(b.store)).toEqual(stored)
      expect((await b.siem.status(TENANT)).state).toBe('retrying')
    } finally {
      await a.close()
      await b.close()
      await receiver.close()
    }
  })
})

/** An OTLP/HTTP collector whose answer to one request the test holds, and then gives (or never gives). */
async function startGateCollector(): Promise<{
  endpoint: string
  requests: { service: unknown; seqs: number[] }[]
  holdNext(): void
  held(): boolean
  release(status: number, headers?: Record<string, string>): void
  close(): Promise<void>
}> {
  const requests: { service: unknown; seqs: number[] }[] = []
  let holdNext = false
  let held: ServerResponse | null = null
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const records = decodeExportLogsRequest(Buffer.concat(chunks))
      requests.push({ service: records[0]?.resource['service.name'], seqs: records.map((record) => Number(record.attributes['audit.seq'])) })
      if (holdNext) {
        holdNext = false
        held = res
        return
      }
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    endpoint: `http://127.0.0.1:${port}/v1/logs`,
    requests,
    holdNext() {
      holdNext = true
    },
    held: () => held !== null,
    release(status, headers = {}) {
      const response = held
      held = null
      if (response && !response.headersSent && !response.destroyed) response.writeHead(status, { 'content-type': 'application/x-protobuf', ...headers }).end()
    },
    close() {
      server.closeAllConnections()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}

describe('a holder stopped while its request is in flight', () => {
  it("keeps the Retry-After of an answer that comes within the stop's grace: the instance taking over waits for it", async () => {
    const collector = await startGateCollector()
    const path = join(dir, `stopped-in-flight-${++files}.db`)
    const a = await instance(path, 'a')
    const b = await instance(path, 'b')
    try {
      await a.siem.start()
      await a.siem.updateSettings(TENANT, { enabled: true, endpoint: collector.endpoint, protocol: 'http/protobuf' }, ADMIN)
      await waitFor(async () => (await cursorOf(a.store))?.seq === 1 || undefined, 'seq 1 delivered by a')
      collector.holdNext()
      await a.logger.record(event(2), { delivery: 'await' })
      await waitFor(() => collector.held() || undefined, 'a\'s request held by the collector')
      // A rolling deploy stops a while the collector is answering: a real 429, not the stop abandoning the request.
      const stopped = a.siem.stop()
      await new Promise((resolve) => setTimeout(resolve, 100))
      collector.release(429, { 'retry-after': '30' })
      await stopped
      expect(await statusOf(a.store)).toMatchObject({ result: 'unavailable', attempts: 1 })
      await b.siem.start()
      await new Promise((resolve) => setTimeout(resolve, 1500))
      expect(collector.requests.map((request) => request.service)).toEqual(['instance-a', 'instance-a'])
      expect((await b.siem.status(TENANT)).state).toBe('retrying')
    } finally {
      await a.close()
      await b.close()
      await collector.close()
    }
  })
})

describe('an instance that lost its lease while its request was in flight', () => {
  it.each(['times out', 'is accepted'])(
    'writes neither status nor cursor when the late answer %s; the new holder\'s status stays clean',
    async (outcome) => {
      const collector = await startGateCollector()
      const path = join(dir, `deposed-${++files}.db`)
      // Leases and timeouts long enough that only the test decides who holds the tenant.
      const options: Partial<SiemServiceOptions> = { leaseTtlMs: 10_000, requestTimeoutMs: 1500 }
      const a = await instance(path, 'a', options)
      const b = await instance(path, 'b', options)
      try {
        await a.siem.start()
        await a.siem.updateSettings(TENANT, { enabled: true, endpoint: collector.endpoint, protocol: 'http/protobuf' }, ADMIN)
        await waitFor(async () => (await cursorOf(a.store))?.seq === 1 || undefined, 'seq 1 delivered by a')
        await b.siem.start()
        collector.holdNext()
        await a.logger.record(event(2), { delivery: 'await' })
        await waitFor(() => collector.held() || undefined, 'a\'s request held by the collector')
        // a stalls past its lease (as a paused process would): the lease expires and b takes the tenant over.
        await a.store.releaseLease(`siem:${TENANT}`, 'a')
        await a.logger.record(event(3), { delivery: 'await' })
        await waitFor(async () => (await cursorOf(a.store))?.seq === 3 || undefined, 'seq 2 and 3 delivered by b')
        expect(collector.requests.at(-1)?.service).toBe('instance-b')
        if (outcome === 'times out') {
          await waitFor(() => a.errors.some((error) => resultOf(error) === 'timeout') || undefined, 'a\'s request timing out')
        } else {
          collector.release(200)
        }
        // a handles its late answer at once: watch the cursor meanwhile (a write moving it back would be undone by a
        // deposed instance that goes on exporting).
        const seen = new Set<number | undefined>()
        for (const until = Date.now() + 300; Date.now() < until; ) {
          seen.add((await cursorOf(a.store))?.seq)
          await new Promise((resolve) => setTimeout(resolve, 2))
        }
        expect([...seen]).toEqual([3])
        expect(await statusOf(a.store)).toBeNull()
        const status = await b.siem.status(TENANT)
        expect(status).toMatchObject({ state: 'up_to_date', eventsBehind: 0, exportedSeq: 3, lastError: null })
        // b goes on exporting; a does not come back.
        await b.logger.record(event(4), { delivery: 'await' })
        await waitFor(async () => (await cursorOf(a.store))?.seq === 4 || undefined, 'seq 4 delivered')
        expect(collector.requests.filter((request) => request.service === 'instance-a').map((request) => request.seqs)).toEqual([[1], [2]])
      } finally {
        collector.release(200)
        await a.close()
        await b.close()
        await collector.close()
      }
    },
  )
})

describe('a failure stored by another instance', () => {
  it('is cleared by the next accepted batch it predates, also while this instance was already exporting', async () => {
    const collector = await startGateCollector()
    const path = join(dir, `stale-${++files}.db`)
    const a = await instance(path, 'a')
    try {
      await a.siem.start()
      await a.siem.updateSettings(TENANT, { enabled: true, endpoint: collector.endpoint, protocol: 'http/protobuf' }, ADMIN)
      await waitFor(async () => (await cursorOf(a.store))?.seq === 1 || undefined, 'seq 1 delivered')
      // What a deposed instance of an earlier release could still write while this one holds the lease.
      const at = new Date().toISOString()
      const stale: DeliveryError = { result: 'timeout', message: 'No answer', at, attempts: 1, nextAttemptAt: new Date(Date.now() + 60_000).toISOString() }
      await a.store.putState(SIEM_STATE.status, TENANT, stale)
      expect((await a.siem.status(TENANT)).state).toBe('retrying')
      await a.logger.record(event(2), { delivery: 'await' })
      await waitFor(async () => (await cursorOf(a.store))?.seq === 2 || undefined, 'seq 2 delivered')
      await waitFor(async () => ((await a.siem.status(TENANT)).lastError === null ? true : undefined), 'the stale error cleared', 2000)
      expect((await a.siem.status(TENANT)).state).toBe('up_to_date')
    } finally {
      await a.close()
      await collector.close()
    }
  })
})
