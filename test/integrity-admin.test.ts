// The integrity routes of the admin handler over a real SQLite file: GET {base}/api/integrity/verify and
// GET {base}/api/export.ndjson, answered by createIntegrityService and scoped to the admin's tenant.
import { execFileSync } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createAuditAdmin,
  createAuditLogger,
  createCheckpointer,
  createIntegrityService,
  createNdjsonSource,
  verifyAll,
  type AuditAdmin,
  type AuditLogger,
  type AuditStore,
  type IntegrityReport,
} from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'

const BASE = '/admin/audit'
const dir = mkdtempSync(join(tmpdir(), 'auditkit-integrity-admin-'))
const path = join(dir, 'audit.db')
const { privateKey, publicKey } = generateKeyPairSync('ed25519')
let store: AuditStore
let admin: AuditAdmin
let adminLogger: AuditLogger
const window = 'from=2026-01-01T00:00:00.000Z&to=2027-01-01T00:00:00.000Z'
let minute = 0

beforeAll(async () => {
  store = createSqliteStore({ path })
  const logger = createAuditLogger({ store, clock: () => new Date(Date.UTC(2026, 5, 1, 0, minute++)), onError: () => {} })
  const checkpointer = createCheckpointer({ logger, privateKey, everyEvents: 10, everyMs: 0 })
  for (let n = 1; n <= 30; n++) {
    await logger.record(
      { tenantId: n % 3 === 0 ? 'globex' : 'acme', actor: { type: 'user', id: 'u1' }, action: 'invoice_paid', resource: { type: 'invoice', id: `i${n}` }, outcome: 'success' },
      { delivery: 'await' },
    )
  }
  await checkpointer.close()
  await logger.close()
  adminLogger = createAuditLogger({ store, onError: () => {} })
  admin = createAuditAdmin({
    logger: adminLogger, // records downloads as audit_log_exported
    basePath: BASE,
    uiDir: false,
    integrity: createIntegrityService({ store, publicKey }),
    // Bearer <tenant>: enough to prove each admin sees only their own tenant's chain.
    authorize: (request) => {
      const tenantId = request.headers.get('authorization')?.replace(/^Bearer /, '')
      return tenantId ? { tenantId, actor: { type: 'user', id: `admin-of-${tenantId}` } } : null
    },
    onError: () => {},
  })
})
afterAll(async () => {
  await adminLogger.close()
  await store.close()
  rmSync(dir, { recursive: true, force: true })
})

const get = (route: string, tenant?: string): Promise<Response> =>
  admin.fetch(new Request(`http://admin.test${BASE}${route}`, tenant ? { headers: { authorization: `Bearer ${tenant}` } } : {}))

describe('integrity admin routes', () => {
  it('verifies the caller tenant chain over a window', async () => {
    const response = await get(`/api/integrity/verify?${window}`, 'acme')
    expect(response.status).toBe(200)
    const report = (await response.json()) as IntegrityReport
    expect(report).toMatchObject({ chainId: 'acme', ok: true, eventsChecked: 20, checkpoints: { signatures: 'verified' } })
    expect((await get(`/api/integrity/verify?${window}`)).status).toBe(401)
    const bad = await get('/api/integrity/verify?from=yesterday&to=2027-01-01T00:00:00.000Z', 'acme')
    expect(bad.status).toBe(400)
    expect(await bad.json()).toMatchObject({ error: { code: expect.stringMatching(/^INVALID_/) } })
  })

  it('exports the caller tenant chain as NDJSON that verifies offline with the public key alone', async () => {
    const response = await get(`/api/export.ndjson?${window}`, 'globex')
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^application\/x-ndjson/)
    const text = await response.text()
    expect(text).not.toContain('"acme"')
    const file = join(dir, 'globex.ndjson')
    writeFileSync(file, text)
    const result = await verifyAll({ source: createNdjsonSource({ path: file }), publicKey, maxUncheckpointed: 0 })
    expect(result).toMatchObject({ ok: true, chains: [{ chainId: 'globex', eventsChecked: 10 }] })
    // The download itself is on the record, in the exporting admin's chain.
    await adminLogger.flush()
    const [recorded] = await store.readChain('globex', 10, 10)
    expect(recorded).toMatchObject({ action: 'audit_log_exported', actor: { id: 'admin-of-globex' }, outcome: 'success', metadata: { format: 'ndjson' } })
  })

  it('names the first broken link after someone edits the database', async () => {
    execFileSync('sqlite3', [path], { input: "UPDATE events SET event = json_set(event, '$.outcome', 'failure') WHERE chain_id = 'acme' AND seq = 7;" })
    const report = (await (await get(`/api/integrity/verify?${window}`, 'acme')).json()) as IntegrityReport
    expect(report).toMatchObject({ ok: false, firstBreak: { reason: 'modified', seq: 7 } })
    expect(((await (await get(`/api/integrity/verify?${window}`, 'globex')).json()) as IntegrityReport).ok).toBe(true)
  })

  it('finds a tail cut after the last signed checkpoint when the window reaches the newest events, as the CLI does', async () => {
    // globex: 10 events signed at seq 10, then the export's own event (seq 11). Someone deletes seq 8 onwards.
    execFileSync('sqlite3', [path], { input: "DELETE FROM events WHERE chain_id = 'globex' AND seq >= 8;" })
    const report = (await (await get(`/api/integrity/verify?${window}`, 'globex')).json()) as IntegrityReport
    expect(report).toMatchObject({ ok: false, firstBreak: { reason: 'tail_truncated' } })
    // A window that ends before the newest events checks only its own range: the cut is not in it.
    const early = (await (await get('/api/integrity/verify?from=2026-01-01T00:00:00.000Z&to=2026-06-01T00:05:00.000Z', 'globex')).json()) as IntegrityReport
    expect(early).toMatchObject({ ok: true })
  })
})
