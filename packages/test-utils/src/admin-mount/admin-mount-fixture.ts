import { mkdtempSync, rmSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, vi } from 'vitest'
import { AuditKitError, createAuditLogger, type AuditLogger, type AuditStore, type SiemAdminService } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'

/**
 * A SIEM service that keeps its settings in the store's state table and tests nothing: enough for an adapter's admin
 * mount test to see which body the settings routes received.
 */
export function siemSettingsInState(store: AuditStore): SiemAdminService {
  return {
    getSettings: async (scope) => (await store.getState('siem-test', scope.tenantId)) ?? { enabled: false },
    async saveSettings(scope, body) {
      if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new AuditKitError('INVALID_SETTINGS', 'Settings must be an object.')
      await store.putState('siem-test', scope.tenantId, body)
      return body
    },
    testConnection: async (_scope, body) => ({ ok: false, tried: body }),
  }
}

export interface AdminMountStore {
  store: AuditStore
  logger: AuditLogger
  /** Closes the logger and the store and removes the file. */
  close(): Promise<void>
}

/** A logger over a fresh SQLite file, with `events` events of tenant `t1` already written (projects p0, p1, ...). */
export async function openAdminMountStore(options: { events?: number } = {}): Promise<AdminMountStore> {
  const dir = mkdtempSync(join(tmpdir(), 'auditkit-admin-mount-'))
  const store = createSqliteStore({ path: join(dir, 'audit.db') })
  const logger = createAuditLogger({ store, onError: () => {} })
  for (let i = 0; i < (options.events ?? 0); i++)
    await logger.record({ tenantId: 't1', actor: { type: 'user', id: `u${i}` }, action: 'project_created', resource: { type: 'project', id: `p${i}` }, outcome: 'success' }, { delivery: 'await' })
  return {
    store,
    logger,
    async close() {
      await logger.close()
      await store.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * Walks every admin route through an adapter's mount at `base` (the page's API under it, the exports, SIEM settings and
 * Test Connection, integrity), as the admin that `headers` authorize, over a store opened with `events: 30` or more.
 * `HEAD` of the list and the exports answers as `GET` would, without a body.
 * Also sends a deeply nested Test Connection body (401 without credentials, 400 `INVALID_BODY` for the admin) and
 * requests as a browser led by another site or another port of the host sends them (Fetch Metadata: 403 `FORBIDDEN`
 * on the API, the page still reachable by a link).
 * Then checks what the audit middleware recorded of it: the two exports once each as `audit_log_exported`, and of
 * the rest only the refused settings saves (unauthenticated, cross-site), as failed `siem_config_updated`, and the
 * refused Test Connections (no admin success is recorded a second time), besides the
 * `[path, outcome]` of what the app's own routes recorded (`appRecorded`, e.g. its login).
 */
export async function expectAdminMountServesEveryRoute(mount: {
  base: string
  headers: Record<string, string>
  store: AuditStore
  logger: AuditLogger
  appRecorded?: [path: string, outcome: string][]
}): Promise<void> {
  const { base, headers, store, logger, appRecorded = [] } = mount
  const denied = await fetch(`${base}/api/settings/siem`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' })
  expect(denied.status).toBe(401)
  expect(denied.headers.get('content-type')).toMatch(/application\/json/)
  expect(((await denied.json()) as { error: { code: string } }).error.code).toBe('UNAUTHENTICATED')
  const list = await fetch(`${base}/api/events?limit=5`, { headers })
  expect(list.status).toBe(200)
  const { items } = (await list.json()) as { items: { id: string }[] }
  expect(items).toHaveLength(5)
  expect((await fetch(`${base}/api/events/${items[0]?.id}`, { headers })).status).toBe(200)
  expect((await fetch(`${base}/api/facets`, { headers })).status).toBe(200)
  const missing = await fetch(`${base}/api/nope`, { headers })
  expect(missing.status).toBe(404)
  expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND')
  const csv = await fetch(`${base}/api/export.csv`, { headers: { ...headers, 'accept-encoding': 'gzip' } })
  expect(csv.status).toBe(200)
  expect(csv.headers.get('content-type')).toMatch(/text\/csv/)
  expect((await csv.text()).split('\r\n').length).toBeGreaterThan(30)
  const ndjson = await fetch(`${base}/api/export.ndjson`, { headers })
  expect(ndjson.status).toBe(200)
  await ndjson.text()
  expect((await fetch(`${base}/api/integrity/verify`, { headers })).status).toBe(200)
  const settings = { enabled: false, n: 1 }
  const put = await fetch(`${base}/api/settings/siem`, { method: 'PUT', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(settings) })
  expect(put.status).toBe(200)
  expect(await store.getState('siem-test', 't1')).toEqual(settings)
  expect((await fetch(`${base}/api/settings/siem`, { headers })).status).toBe(200)
  const test = await fetch(`${base}/api/settings/siem/test`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: '{"enabled":true}' })
  expect(test.status).toBe(200)
  // A deeply nested body (20,000 arrays, 40 KB): refused after authorize, as any other request, never a 500.
  const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`
  const deepUrl = `${base}/api/settings/siem/test`
  const deepAnonymous = await fetch(deepUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: deep })
  expect([deepAnonymous.status, ((await deepAnonymous.json()) as { error: { code: string } }).error.code]).toEqual([401, 'UNAUTHENTICATED'])
  const deepAdmin = await fetch(deepUrl, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: deep })
  expect([deepAdmin.status, ((await deepAdmin.json()) as { error: { code: string } }).error.code]).toEqual([400, 'INVALID_BODY'])
  // Fetch Metadata: the signed-in admin's browser, led by a page on another port of the host (same-site) or another
  // site, is refused on the API (no export recorded in the admin's name); a link from there still opens the page.
  const forged = await browserRequest(`${base}/api/export.csv?q=csrf-export`, { ...headers, 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' })
  expect([forged.status, (JSON.parse(forged.body) as { error: { code: string } }).error.code]).toEqual([403, 'FORBIDDEN'])
  const forgedSave = await browserRequest(`${base}/api/settings/siem`, { ...headers, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'cors', 'content-type': 'application/json' }, 'PUT', '{"enabled":true}')
  expect(forgedSave.status).toBe(403)
  expect(await store.getState('siem-test', 't1')).toEqual(settings)
  const linked = await browserRequest(base, { ...headers, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' })
  expect(linked.status).toBe(308)
  const own = await browserRequest(`${base}/api/events?limit=1`, { ...headers, 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' })
  expect(own.status).toBe(200)
  const redirect = await fetch(base, { headers, redirect: 'manual' })
  expect(redirect.status).toBe(308)
  expect(redirect.headers.get('location')).toBe(`${new URL(base).pathname}/`)
  // HEAD answers as GET would, without a body; an export's HEAD neither reads the events nor counts as an export.
  for (const [path, type] of [['/api/events?limit=5', /application\/json/], ['/api/export.csv', /text\/csv/], ['/api/export.ndjson', /ndjson/]] as const) {
    const head = await fetch(`${base}${path}`, { method: 'HEAD', headers })
    expect([path, head.status, head.headers.get('content-type')]).toEqual([path, 200, expect.stringMatching(type)])
    expect(await head.text()).toBe('')
  }
  await logger.flush()
  const { items: recorded } = await store.query({ tenantId: 't1', from: '2000-01-01T00:00:00.000Z', to: '2100-01-01T00:00:00.000Z', limit: 200 })
  const others = recorded.filter((event) => event.action !== 'project_created')
  expect(others.filter((event) => event.action === 'audit_log_exported')).toHaveLength(2)
  const byPath = (a: unknown[], b: unknown[]): number => String(a[0]).localeCompare(String(b[0]))
  expect(others.filter((event) => event.action !== 'audit_log_exported').map((event) => [event.context?.path, event.outcome]).sort(byPath)).toEqual(
    [
      [`${new URL(base).pathname}/api/settings/siem`, 'failure'],
      // The cross-site save, refused as a failure like the unauthenticated one above.
      [`${new URL(base).pathname}/api/settings/siem`, 'failure'],
      // The deep Test Connection bodies, refused (401, then 400).
      [`${new URL(base).pathname}/api/settings/siem/test`, 'failure'],
      [`${new URL(base).pathname}/api/settings/siem/test`, 'failure'],
      ...appRecorded,
    ].sort(byPath),
  )
  // The refused saves are found under the action their success has, not one derived from the admin path.
  const refused = others.filter((event) => event.context?.path === `${new URL(base).pathname}/api/settings/siem`)
  expect(refused.map((event) => [event.action, event.resource, event.targets ?? [], event.context?.status]).sort((a, b) => Number(a[3]) - Number(b[3]))).toEqual([
    ['siem_config_updated', { type: 'siem_integration' }, [], 401],
    ['siem_config_updated', { type: 'siem_integration' }, [], 403],
  ])
}

/**
 * A request with the headers as given, as a browser sends them: Node's `fetch` replaces `Sec-Fetch-Mode` with `cors`
 * and cannot send a navigation, so this goes through `node:http`. Answers the status and the body as text.
 */
function browserRequest(url: string, headers: Record<string, string>, method = 'GET', body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers: { ...headers, connection: 'close' } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

/**
 * Downloads a CSV through a mount at `base` on a dual-stack server (one listening on `::`, as `app.listen(port)` does,
 * where an IPv4 client's address is IPv4-mapped) and checks that the export is recorded with the client's address as
 * the capture records it: `127.0.0.1`, not `::ffff:127.0.0.1`.
 */
export async function expectExportRecordsIpv4Client(mount: { base: string; headers: Record<string, string>; store: AuditStore; logger: AuditLogger }): Promise<void> {
  const { base, headers, store, logger } = mount
  const csv = await fetch(`${base}/api/export.csv`, { headers })
  expect(csv.status).toBe(200)
  await csv.text()
  const window = { tenantId: 't1', from: '2000-01-01T00:00:00.000Z', to: '2100-01-01T00:00:00.000Z', limit: 10, action: 'audit_log_exported' }
  // The export is recorded once its stream ended, just after the client read it.
  await vi.waitFor(async () => {
    await logger.flush()
    expect((await store.query(window)).items.map((event) => event.context?.ip)).toEqual(['127.0.0.1'])
  })
}

