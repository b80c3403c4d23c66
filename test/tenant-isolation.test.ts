import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import Database from 'libsql'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createAuditAdmin,
  createAuditLogger,
  createIntegrityService,
  createSealer,
  createSiemAdminService,
  createSiemService,
  serveNodeRequest,
  uuidv7,
  type AuditEvent,
  type AuditLogger,
  type AuditStore,
  type SiemService,
  type UnsealedEvent,
} from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'
import { startOtlpReceiver, type OtlpReceiver } from '@auditkit/test-utils'
import { runCli } from '../packages/core/src/cli/run.js'

// Adversarial tenant isolation: tenants whose ids are prefixes of each other, differ only in case, whitespace, Unicode
// normalisation or a trailing NUL, or hold SQL LIKE wildcards and FTS syntax; every admin route over real HTTP and a real
// SQLite file, with and without the trigram search index, with the facet summary table filled.
const TENANTS = [
  'acme',
  'acme ',
  ' acme',
  'ACME',
  'acme\u0000',
  'acme\u0000evil',
  'acmex',
  'acm%',
  'acm_',
  '%',
  '_',
  'a"me',
  "a'me",
  'caf\u00e9',
  'cafe\u0301',
  'x'.repeat(256),
  'x'.repeat(255),
  'NEAR(acme)',
] as const
const NOW = new Date('2026-06-01T00:00:00.000Z')
const DAY = 86_400_000
/** Per tenant: events in whole days long before NOW (summarised in facet_counts), and a few on NOW's day (edges). */
const PER_TENANT = (i: number): number => 3 + i

function seedFor(i: number, n: number, ms: number): UnsealedEvent {
  const tenantId = TENANTS[i] as string
  return {
    id: uuidv7(ms),
    occurredAt: new Date(ms).toISOString(),
    tenantId,
    chainId: tenantId,
    actor: { type: 'user', id: `actor-${i}`, name: `Actor ${i}`, email: `a${i}@example.com` },
    action: i % 2 === 0 ? 'project_created' : 'member_invited',
    resource: { type: `res_${i}`, id: `r-${i}-${n}`, name: `needle ${tenantId} %_"* OR NEAR shared` },
    outcome: 'success',
    context: { ip: '203.0.113.1' },
  }
}

interface Collector {
  chunks: Buffer[]
  stream: Writable
  text(): string
}
function collector(): Collector {
  const chunks: Buffer[] = []
  return {
    chunks,
    stream: new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(Buffer.from(chunk))
        callback()
      },
    }),
    text: () => Buffer.concat(chunks).toString('utf8'),
  }
}

describe.each([false, true])('tenant isolation over HTTP (searchIndex: %s)', (searchIndex) => {
  const dir = mkdtempSync(join(tmpdir(), 'auditkit-tenants-'))
  const dbPath = join(dir, 'audit.db')
  let store: AuditStore
  let logger: AuditLogger
  let siem: SiemService
  let server: Server
  let origin = ''
  let receiverA: OtlpReceiver
  const seeded = new Map<string, AuditEvent[]>()

  beforeAll(async () => {
    store = createSqliteStore({ path: dbPath, searchIndex, writer: 'inline' })
    await store.init()
    const seal = createSealer()
    // Old, whole days (into facet_counts once the bulk tenant pushes the catch-up) ...
    for (let i = 0; i < TENANTS.length; i++) {
      const events: UnsealedEvent[] = []
      for (let n = 0; n < PER_TENANT(i); n++) events.push(seedFor(i, n, NOW.getTime() - 40 * DAY + i * 3_600_000 + n * 1000))
      seeded.set(TENANTS[i] as string, await store.append(events, seal))
    }
    // ... a bulk tenant large enough to make the store count everything so far into facet_counts ...
    const bulk: UnsealedEvent[] = []
    for (let n = 0; n < 5100; n++) {
      const ms = NOW.getTime() - 60 * DAY + n * 1000
      bulk.push({
        id: uuidv7(ms),
        occurredAt: new Date(ms).toISOString(),
        tenantId: 'bulk',
        chainId: 'bulk',
        actor: { type: 'user', id: 'bulk-actor' },
        action: 'project_created',
        resource: { type: 'bulk_thing', name: 'needle bulk shared acme' },
        outcome: 'success',
      })
    }
    await store.append(bulk, seal)
    // The summary table holds every tenant apart (also 'acme' and 'acme\0'): the facets below read it.
    const db = new Database(dbPath, { readonly: true })
    const summarised = db.prepare("SELECT count(DISTINCT hex(tenant_id)) AS n FROM facet_counts").get([]) as { n: number }
    db.close()
    expect(summarised.n).toBe(TENANTS.length + 1)
    // ... and a few more per tenant on the day of NOW (not counted yet: read from the events).
    for (let i = 0; i < TENANTS.length; i++) {
      const more = await store.append([seedFor(i, 99, NOW.getTime() - 3_600_000 + i * 1000)], seal)
      seeded.get(TENANTS[i] as string)?.push(...more)
    }
    logger = createAuditLogger({ store, clock: () => NOW, onError: () => {} })
    siem = createSiemService({
      logger,
      secretKey: Buffer.alloc(32, 3),
      pollIntervalMs: 50,
      settingsRefreshMs: 200,
      retry: { initialDelayMs: 50, maxDelayMs: 200 },
      onError: () => {},
    })
    receiverA = await startOtlpReceiver({ protocol: 'http/protobuf', bearerToken: 'secret-of-tenant-acme-1234' })
    const admin = createAuditAdmin({
      store,
      uiDir: false,
      clock: () => NOW,
      integrity: createIntegrityService({ store }),
      siem: createSiemAdminService(siem),
      onError: (error) => console.error(error),
      // The same admin actor id in every tenant: nothing keyed by actor alone may cross tenants.
      authorize: (request) => {
        const token = /^Bearer t(\d+)$/.exec(request.headers.get('authorization') ?? '')?.[1]
        const tenantId = token === undefined ? undefined : TENANTS[Number(token)]
        return tenantId === undefined ? null : { tenantId, actor: { type: 'user', id: 'admin' } }
      },
    })
    server = createServer((req, res) => void serveNodeRequest(admin, req, res))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    await siem.start()
  })

  afterAll(async () => {
    await siem.stop()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await receiverA.close()
    await logger.close()
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const as = (i: number, path: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${origin}${path}`, { ...init, headers: { authorization: `Bearer t${i}`, ...(init.headers as Record<string, string> | undefined) } })

  async function listAll(i: number, query = ''): Promise<AuditEvent[]> {
    const items: AuditEvent[] = []
    let cursor: string | null = null
    for (;;) {
      const sep = query === '' ? '' : '&'
      const response = await as(i, `/api/events?limit=2${sep}${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
      expect(response.status).toBe(200)
      const page = (await response.json()) as { items: AuditEvent[]; nextCursor: string | null }
      items.push(...page.items)
      if (page.nextCursor === null) return items
      cursor = page.nextCursor
    }
  }

  const own = (i: number): string[] => (seeded.get(TENANTS[i] as string) ?? []).map((event) => event.id).sort()

  it('lists, searches and counts only the admin tenant, whatever the tenant id looks like', async () => {
    for (let i = 0; i < TENANTS.length; i++) {
      const all = await listAll(i)
      expect(all.map((event) => event.tenantId).every((tenant) => tenant === TENANTS[i])).toBe(true)
      expect(all.map((event) => event.id).sort()).toEqual(own(i))
      for (const q of ['needle', 'shared', 'acme', '%', '_', '"', '*', 'OR NEAR', 'needle acme', TENANTS[i] as string]) {
        // `q` refuses control characters and more than 200 characters (400 INVALID_QUERY).
        if (q.includes('\u0000') || q.length > 200) continue
        const found = await listAll(i, `q=${encodeURIComponent(q)}`)
        expect(found.every((event) => event.tenantId === TENANTS[i]), `tenant ${JSON.stringify(TENANTS[i])} q=${q}`).toBe(true)
      }
      const facets = (await (await as(i, '/api/facets')).json()) as {
        actors: { id: string; count: number }[]
        actions: { value: string; count: number }[]
        resourceTypes: { value: string; count: number }[]
      }
      expect(facets.actors, `tenant ${JSON.stringify(TENANTS[i])}`).toEqual([expect.objectContaining({ id: `actor-${i}`, count: PER_TENANT(i) + 1 })])
      expect(facets.resourceTypes).toEqual([{ value: `res_${i}`, count: PER_TENANT(i) + 1 }])
      expect(facets.actions.reduce((sum, row) => sum + row.count, 0)).toBe(PER_TENANT(i) + 1)
      const searchedFacets = (await (await as(i, '/api/facets?q=needle')).json()) as { actors: { id: string; count: number }[] }
      expect(searchedFacets.actors).toEqual([expect.objectContaining({ id: `actor-${i}`, count: PER_TENANT(i) + 1 })])
    }
  })

  it("answers 404 for every other tenant's event ids", async () => {
    for (let i = 0; i < TENANTS.length; i++) {
      for (let j = 0; j < TENANTS.length; j++) {
        const id = own(j)[0] as string
        const response = await as(i, `/api/events/${id}`)
        expect(response.status, `${JSON.stringify(TENANTS[i])} reading ${JSON.stringify(TENANTS[j])}`).toBe(i === j ? 200 : 404)
      }
    }
  })

  it("refuses every other tenant's cursor", async () => {
    const cursors: string[] = []
    for (let i = 0; i < TENANTS.length; i++) {
      const page = (await (await as(i, '/api/events?limit=1')).json()) as { nextCursor: string }
      cursors.push(page.nextCursor)
    }
    for (let i = 0; i < TENANTS.length; i++) {
      for (let j = 0; j < TENANTS.length; j++) {
        const response = await as(i, `/api/events?limit=1&cursor=${encodeURIComponent(cursors[j] as string)}`)
        expect(response.status).toBe(i === j ? 200 : 400)
      }
    }
  })

  it('exports (CSV, NDJSON) and verifies only the admin tenant', async () => {
    for (let i = 0; i < TENANTS.length; i++) {
      const csv = await (await as(i, '/api/export.csv?columns=id&bom=false')).text()
      const ids = csv.trim().split('\r\n').slice(1).sort()
      expect(ids).toEqual(own(i))
      const ndjson = (await (await as(i, '/api/export.ndjson')).text()).trim().split('\n').map((line) => JSON.parse(line) as { kind: string; tenantId?: string; chainId?: string })
      expect(ndjson.filter((line) => line.kind === 'chain').map((line) => line.chainId)).toEqual([TENANTS[i]])
      expect(ndjson.filter((line) => line.kind === 'event').every((line) => line.tenantId === TENANTS[i])).toBe(true)
      const verify = (await (await as(i, '/api/integrity/verify')).json()) as { chainId: string; eventsChecked: number; ok: boolean }
      expect(verify).toMatchObject({ chainId: TENANTS[i], ok: true, eventsChecked: PER_TENANT(i) + 1 })
    }
  })

  it('keeps SIEM settings, secrets, exporters and the Test Connection rate limit per tenant', async () => {
    const json = { 'content-type': 'application/json' }
    const settingsA = { enabled: true, endpoint: receiverA.endpoint, protocol: 'http/protobuf', headers: { Authorization: 'Bearer secret-of-tenant-acme-1234' } }
    const saved = await as(0, '/api/settings/siem', { method: 'PUT', headers: json, body: JSON.stringify(settingsA) })
    expect(saved.status).toBe(200)
    // Every other tenant, including 'acme ' and 'ACME', sees nothing of it ...
    for (let i = 1; i < TENANTS.length; i++) {
      const view = (await (await as(i, '/api/settings/siem')).json()) as { settings: { endpoint: string; headers: object }; status: { state: string } }
      expect(view.settings).toMatchObject({ endpoint: '', headers: {} })
      expect(view.status.state).toBe('disabled')
    }
    // ... and cannot borrow the secret by sending its mask to the same collector.
    const borrowed = await as(4, '/api/settings/siem', {
      method: 'PUT',
      headers: json,
      body: JSON.stringify({ ...settingsA, headers: { Authorization: '****1234' } }),
    })
    expect(borrowed.status).toBe(200)
    const tested = (await (await as(5, '/api/settings/siem/test', { method: 'POST', headers: json, body: JSON.stringify({ ...settingsA, headers: { Authorization: '****1234' } }) })).json()) as { ok: boolean; result: string }
    expect(tested).toMatchObject({ ok: false, result: 'unauthorized' })
    await receiverA.waitForRecords(PER_TENANT(0) + 2, 10_000)
    await new Promise((resolve) => setTimeout(resolve, 500))
    for (const request of receiverA.requests) {
      const tenants = new Set(request.records.map((record) => record.attributes['audit.tenant.id']))
      if (request.headers['authorization'] === 'Bearer secret-of-tenant-acme-1234') expect([...tenants]).toEqual(['acme'])
      else expect(request.answeredStatus).toBe(401)
    }
    // The same actor id in two tenants: tenant 0's attempts do not use up tenant 1's.
    const body = JSON.stringify({ endpoint: receiverA.endpoint, protocol: 'http/protobuf' })
    for (let n = 0; n < 6; n++) await as(2, '/api/settings/siem/test', { method: 'POST', headers: json, body })
    expect((await as(2, '/api/settings/siem/test', { method: 'POST', headers: json, body })).status).toBe(429)
    expect((await as(3, '/api/settings/siem/test', { method: 'POST', headers: json, body })).status).toBe(200)
  })

  it('auditkit export/verify --tenant reads only the named tenant', async () => {
    for (const i of [0, 1, 3, 4, 7, 9]) {
      const out = collector()
      const err = collector()
      const code = await runCli(['export', '--sqlite', dbPath, '--tenant', TENANTS[i] as string], { stdout: out.stream, stderr: err.stream, env: {} })
      expect(code, err.text()).toBe(0)
      const lines = out.text().trim().split('\n').map((line) => JSON.parse(line) as { kind: string; tenantId?: string; chainId?: string })
      expect(lines.filter((line) => line.kind === 'chain').map((line) => line.chainId)).toEqual([TENANTS[i]])
      expect(lines.filter((line) => line.kind === 'event').every((line) => line.tenantId === TENANTS[i])).toBe(true)
      const verifyOut = collector()
      const verifyCode = await runCli(['verify', '--sqlite', dbPath, '--tenant', TENANTS[i] as string, '--json'], { stdout: verifyOut.stream, stderr: err.stream, env: {} })
      const result = JSON.parse(verifyOut.text()) as { chains: { chainId: string }[] }
      expect(verifyCode).toBe(0)
      expect(result.chains.map((chain) => chain.chainId)).toEqual([TENANTS[i]])
    }
    expect(readFileSync(dbPath).length).toBeGreaterThan(0)
  })
})

describe('a tenant id with a NUL in it (SQLite reads text only up to a NUL)', () => {
  it("never exports another tenant's events to the SIEM of 'acme\\0evil'", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'auditkit-tenants-nul-'))
    const store = createSqliteStore({ path: join(dir, 'audit.db'), writer: 'inline' })
    const logger = createAuditLogger({ store, onError: () => {} })
    const siem = createSiemService({ logger, pollIntervalMs: 50, settingsRefreshMs: 100, retry: { initialDelayMs: 50, maxDelayMs: 200 }, onError: () => {} })
    const evil = 'acme\u0000evil'
    const collector = await startOtlpReceiver({ protocol: 'http/protobuf' })
    const admin = createAuditAdmin({
      logger,
      uiDir: false,
      siem: createSiemAdminService(siem),
      authorize: (request) => (request.headers.get('authorization') === 'Bearer evil' ? { tenantId: evil, actor: { type: 'user', id: 'mallory' } } : null),
    })
    const server = createServer((req, res) => void serveNodeRequest(admin, req, res))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      for (let i = 0; i < 3; i++)
        await logger.record({ tenantId: 'acme', actor: { type: 'user', id: 'alice' }, action: 'project_created', resource: { type: 'project', id: `secret-${i}` }, outcome: 'success' }, { delivery: 'await' })
      await siem.start()
      const saved = await fetch(`${origin}/api/settings/siem`, {
        method: 'PUT',
        headers: { authorization: 'Bearer evil', 'content-type': 'application/json' },
        body: JSON.stringify({ enabled: true, endpoint: collector.endpoint, protocol: 'http/protobuf' }),
      })
      expect(saved.status).toBe(200)
      // The exporter of 'acme\0evil' sends its own `siem_config_updated`, and nothing of 'acme'.
      const records = await collector.waitForRecords(1, 10_000)
      await new Promise((resolve) => setTimeout(resolve, 500))
      expect(collector.records.map((record) => record.attributes['audit.tenant.id'])).toEqual([evil])
      expect(records[0]?.attributes['audit.action']).toBe('siem_config_updated')
    } finally {
      await siem.stop()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await collector.close()
      await logger.close()
      await store.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
