// The CSV export opened in a real spreadsheet: LibreOffice Calc (headless), set to evaluate formulas on import as
// Excel does. Events with hostile values are recorded through a Hono app on a real HTTP server (audit middleware) and
// through the logger, into a SQLite file; an admin downloads the export over HTTP from the core admin handler, in
// English and in Japanese; Calc opens each download and saves what it shows. Every cell must read back as the
// literal text of the export (a formula-like value with its neutralising `'`), never as a computed value, and the
// Japanese headers and values must decode without mojibake or a stray BOM. A control file the test writes itself,
// with raw formulas, proves Calc really evaluates them here: without it a passing run would prove nothing.
//
// Calc evaluates only cells starting with `=` on CSV import (`+1+1`, `-2+3`, `@SUM(1,2)` and a leading tab stay
// text even raw, as the control shows), so the `=` values are the ones that fail this test if the neutralising
// goes; the others are still checked to read back as their neutralised text.
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serve } from '@hono/node-server'
import { parse } from 'csv-parse/sync'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAuditAdmin, createAuditLogger, serveNodeRequest, type AdminAuthorization, type AuditLogger } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'
import { auditMiddleware } from '@auditkit/hono'
import { openInCalc } from './e2e/libreoffice.js'

const TENANT = 'acme'
const ADMIN_TOKEN = 'calc-admin-token'
const EVIL_TOKEN = 'calc-evil-token'

/** Values a spreadsheet would run as formulas if they reached it as written. */
const HYPERLINK = '=HYPERLINK("http://evil.example","click")'
const DDE = "+cmd|' /C calc'!A0"
/** Japanese text with a separator, quotes and a line break: one cell all the same. */
const JAPANESE_NAME = '山田 太郎'
const JAPANESE_RESOURCE = 'プロジェクト「アポロ」, "第1期"\n二行目'

/** The columns exported: every one that carries a value a client or an app controls. */
const COLUMNS = [
  'id',
  'actor',
  'actorEmail',
  'actorId',
  'action',
  'resourceType',
  'resourceId',
  'resourceName',
  'targets',
  'outcome',
  'metadata',
  'userAgent',
  'method',
  'path',
  'status',
  'requestId',
] as const

/**
 * What a spreadsheet must show for a recorded value: the value itself, or, when it starts like a formula (OWASP:
 * `=`, `+`, `-`, `@`, tab, CR), the value behind a `'`. Line breaks are LF inside a cell. Written out here rather
 * than taken from the encoder, so that a broken encoder cannot agree with itself.
 */
function shown(value: string): string {
  // Also a `'` after a `;`, tab or line break that a sign follows: a reader splitting only on `;` (Excel in German or
  // French) or tab would start a field there, inside the quoted cell.
  const text = value.replace(/\r\n?/g, '\n').replace(/([;\t\n])(?=[\s"]*[=+\-@])/g, "$1'")
  return /^[=+\-@\t\r]/.test(value) ? `'${text}` : text
}

let dir: string
let logger: AuditLogger
let store: ReturnType<typeof createSqliteStore>
let api: Server
let adminServer: Server
let apiOrigin: string
let adminOrigin: string
/** Ids of the events recorded with hostile values. */
const ids = { http: '', direct: '', japanese: '', separators: '', semicolons: '' }

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    const done = (): void => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
    if (server.listening) done()
    else server.once('listening', done)
  })
}

function close(server: Server | undefined): Promise<void> {
  if (!server) return Promise.resolve()
  server.closeAllConnections()
  return new Promise((resolve) => server.close(() => resolve()))
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'auditkit-calc-e2e-'))
  store = createSqliteStore({ path: join(dir, 'audit.db') })
  logger = createAuditLogger({ store })

  // The app: its auth middleware resolves a user whose display name and email an attacker chose at sign-up.
  const app = new Hono()
  app.use(async (c, next) => {
    if (c.req.header('authorization') === `Bearer ${EVIL_TOKEN}`) {
      ;(c.set as (key: string, value: unknown) => void)('user', { id: 'u-evil', name: HYPERLINK, email: '@SUM(1,2)' })
    }
    await next()
  })
  app.use(auditMiddleware({ logger, delivery: 'await', tenant: () => TENANT }))
  app.patch('/projects/:projectId', (c) => {
    c.get('audit').set({ resource: { name: '-2+3' }, metadata: { note: '=1+1', 名前: JAPANESE_NAME } })
    return c.json({ ok: true })
  })
  api = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server
  apiOrigin = await listen(api)

  // The admin routes: the core Fetch handler every adapter mounts, on plain node:http.
  const admin = createAuditAdmin({
    logger,
    basePath: '/admin/audit',
    uiDir: false,
    authorize: (request): AdminAuthorization =>
      request.headers.get('authorization') === `Bearer ${ADMIN_TOKEN}` ? { tenantId: TENANT, actor: { type: 'user', id: 'owner', name: 'Olivia Owner' } } : null,
  })
  adminServer = createServer((req, res) => void serveNodeRequest(admin, req, res))
  adminServer.listen(0, '127.0.0.1')
  adminOrigin = await listen(adminServer)

  // 1. Through the app over HTTP: the resource id from the URL, the user agent and request id from headers.
  const response = await fetch(`${apiOrigin}/projects/${encodeURIComponent('=2*21')}`, {
    method: 'PATCH',
    headers: {
      authorization: `Bearer ${EVIL_TOKEN}`,
      'content-type': 'application/json',
      'user-agent': '=CONCATENATE("pw","ned")',
      'x-request-id': '-2+3',
    },
    body: '{"name":"x"}',
  })
  expect(response.status).toBe(200)

  // 2. Through the logger: what HTTP headers cannot carry (a leading tab or CR, line breaks), and Japanese text.
  await logger.record({
    tenantId: TENANT,
    actor: { type: 'user', id: '=1+1', name: '\t=1+1', email: '-1+1@evil.example' },
    action: 'member_invited',
    resource: { type: 'member', id: '@SUM(1,2)', name: '\r=SUM(1;2)' },
    targets: [{ type: 'project', id: '=1+1', name: '=1+1' }],
    outcome: 'failure',
    context: { ip: '203.0.113.9', userAgent: DDE, method: 'POST', path: '=1+1', status: 403, requestId: '=1+1' },
    metadata: { '=1+1': '@SUM(1,2)' },
  })
  await logger.record({
    tenantId: TENANT,
    actor: { type: 'user', id: 'u-yamada', name: JAPANESE_NAME, email: 'yamada@example.jp' },
    action: 'project_created',
    resource: { type: 'project', id: 'p-apollo', name: JAPANESE_RESOURCE },
    outcome: 'success',
    context: { userAgent: 'Mozilla/5.0 "quoted", comma' },
    metadata: { 説明: 'プロジェクト, "引用"\n改行' },
  })
  // 3. Formulas behind a tab, a space or leading spaces: a reader splitting on tab or space, or trimming spaces, would start a cell with them.
  await logger.record({
    tenantId: TENANT,
    actor: { type: 'user', id: 'u-split', name: 'x\t=1+1', email: 'ok\t=2*21@evil.example' },
    action: 'member_removed',
    resource: { type: 'member', id: ' =1+1', name: 'x =HYPERLINK("http://evil.example","click")' },
    outcome: 'success',
    context: { userAgent: '  =SUM(1;2)', requestId: '\u3000=1+1', path: '＝1+1' },
  })
  // 4. Formulas after a `;` or a line break in later columns: a reader splitting only on `;` (Excel in German or
  // French) reads the quote opening such a cell as text and starts a field, or a row, inside it.
  await logger.record({
    tenantId: TENANT,
    actor: { type: 'user', id: 'u-semicolon', name: 'x;=1+1', email: 'a;-1+1@evil.example' },
    action: 'member_role_updated',
    resource: { type: 'member', id: 'r;@SUM(1,2)', name: 'line\n=2*21;""=1+1' },
    outcome: 'success',
    context: { userAgent: 'Mozilla;=CONCATENATE("pw","ned")' },
    metadata: { note: 'a;=1+1' },
  })
  await logger.flush()

  const recorded = await store.query({ tenantId: TENANT, from: '2000-01-01T00:00:00.000Z', to: '2100-01-01T00:00:00.000Z', limit: 10 })
  const byAction = (action: string): string => recorded.items.find((e) => e.action === action)?.id ?? ''
  ids.http = byAction('project_updated')
  ids.direct = byAction('member_invited')
  ids.japanese = byAction('project_created')
  ids.separators = byAction('member_removed')
  ids.semicolons = byAction('member_role_updated')
  expect(Object.values(ids).every((id) => id !== '')).toBe(true)
})

afterAll(async () => {
  await close(api)
  await close(adminServer)
  await logger?.close()
  await store?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

/** The export as an admin downloads it: the file's bytes, BOM included. */
async function download(locale: 'en' | 'ja'): Promise<Uint8Array> {
  const url = `${adminOrigin}/admin/audit/api/export.csv?locale=${locale}&columns=${COLUMNS.join(',')}`
  const response = await fetch(url, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toMatch(/^text\/csv/)
  return new Uint8Array(await response.arrayBuffer())
}

async function labels(locale: 'en' | 'ja'): Promise<string[]> {
  const response = await fetch(`${adminOrigin}/admin/audit/api/columns`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
  const body = (await response.json()) as { columns: { id: string; label: Record<string, string> }[] }
  return COLUMNS.map((id) => body.columns.find((c) => c.id === id)?.label[locale] ?? `missing ${id}`)
}

function rowsOf(csv: string): string[][] {
  return parse(csv, { relax_column_count: false }) as string[][]
}

describe('the harness: LibreOffice Calc evaluates formulas in a CSV it opens', () => {
  it('computes raw formula cells (the control), and keeps neutralised ones as text', async () => {
    const control = '\uFEFFraw,neutralised,日本語\r\n=1+1,"\'=1+1",山田 太郎\r\n"=HYPERLINK(""http://evil.example"",""click"")","\'=SUM(1;2)",プロジェクト\r\n=SUM(1;2),=2*21,"=CONCATENATE(""pw"",""ned"")"\r\n'
    const rows = rowsOf(await openInCalc(control, 'control'))
    expect(rows).toEqual([
      ['raw', 'neutralised', '日本語'],
      ['2', "'=1+1", '山田 太郎'],
      ['click', "'=SUM(1;2)", 'プロジェクト'],
      ['3', '42', 'pwned'],
    ])
  })
})

describe.each(['en', 'ja'] as const)('the CSV export (locale %s) opened in LibreOffice Calc', (locale) => {
  /**
   * The download, as parsed from its bytes and as Calc shows it; made once, by the first test that asks. Not in a
   * `beforeAll`: when Calc is missing every test fails with the reason, rather than being reported as skipped.
   */
  let opened: Promise<{ bytes: Uint8Array; exported: string[][]; calc: string[][] }> | undefined
  const open = (): NonNullable<typeof opened> =>
    (opened ??= (async () => {
      const bytes = await download(locale)
      const exported = rowsOf(new TextDecoder().decode(bytes)) // the decoder drops the BOM
      const calc = rowsOf(await openInCalc(bytes, `audit-log-${locale}`))
      return { bytes, exported, calc }
    })())

  it('starts with the UTF-8 BOM, and Calc shows the header in the chosen language without mojibake or a stray BOM', async () => {
    const { bytes, calc } = await open()
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
    const header = await labels(locale)
    expect(calc[0]).toEqual(header)
    if (locale === 'ja') {
      expect(calc[0]?.slice(0, 3)).toEqual(['イベントID', 'ユーザー', 'メールアドレス'])
      expect(calc[0]).toContain('ユーザーエージェント')
    } else {
      expect(calc[0]?.slice(0, 3)).toEqual(['Event ID', 'User', 'Email address'])
    }
    // "ï»¿" is the BOM read as Latin-1, "ã" and "�" the usual traces of UTF-8 read as something else.
    expect(calc.flat().join('\n')).not.toMatch(/\uFEFF|ï»¿|ã|�/)
  })

  it('shows every cell exactly as the export wrote it: nothing is computed', async () => {
    const { exported, calc } = await open()
    // Our three events and the downloads recorded while the suite runs, all there, in the same shape.
    expect(calc.length).toBe(exported.length)
    expect(calc.length).toBeGreaterThanOrEqual(4)
    expect(calc).toEqual(exported)
  })

  it('shows each hostile value as its literal, neutralised text', async () => {
    const { calc } = await open()
    const row = (id: string): Record<(typeof COLUMNS)[number], string> => {
      const cells = calc.find((r) => r[0] === id)
      expect(cells, `row of event ${id}`).toBeDefined()
      return Object.fromEntries(COLUMNS.map((column, i) => [column, cells?.[i] ?? ''])) as Record<(typeof COLUMNS)[number], string>
    }

    // Recorded from a real request: actor from the app's user, resource id from the URL, headers as sent.
    const http = row(ids.http)
    expect(http.actor).toBe(shown(HYPERLINK))
    expect(http.actor).toBe(`'=HYPERLINK("http://evil.example","click")`)
    expect(http.actorEmail).toBe(shown('@SUM(1,2)'))
    expect(http.resourceId).toBe(shown('=2*21'))
    expect(http.resourceName).toBe(shown('-2+3'))
    expect(http.userAgent).toBe(shown('=CONCATENATE("pw","ned")'))
    expect(http.requestId).toBe(shown('-2+3'))
    expect(http.metadata).toBe(JSON.stringify({ note: '=1+1', 名前: JAPANESE_NAME }))

    // Recorded by the app itself: a leading tab, a leading CR, and `=` in every free field.
    const direct = row(ids.direct)
    expect(direct.actor).toBe(shown('\t=1+1'))
    expect(direct.actor).toBe("'\t'=1+1")
    expect(direct.actorEmail).toBe(shown('-1+1@evil.example'))
    expect(direct.actorId).toBe(shown('=1+1'))
    expect(direct.resourceId).toBe(shown('@SUM(1,2)'))
    expect(direct.resourceName).toBe(shown('\r=SUM(1;2)'))
    expect(direct.resourceName).toBe("'\n'=SUM(1;2)")
    expect(direct.targets).toBe('project:=1+1 (=1+1)')
    expect(direct.userAgent).toBe(shown(DDE))
    expect(direct.path).toBe(shown('=1+1'))
    expect(direct.requestId).toBe(shown('=1+1'))
    expect(direct.status).toBe('403')
    expect(direct.metadata).toBe('{"=1+1":"@SUM(1,2)"}')

    // What the control shows these formulas compute to appears nowhere.
    const computed = new Set(['2', '3', '42', 'click', 'pwned'])
    expect(calc.flat().filter((cell) => computed.has(cell))).toEqual([])

    // Japanese text with a comma, quotes and a line break: one cell, decoded as written.
    const japanese = row(ids.japanese)
    expect(japanese.actor).toBe(JAPANESE_NAME)
    expect(japanese.resourceName).toBe(JAPANESE_RESOURCE)
    expect(japanese.userAgent).toBe('Mozilla/5.0 "quoted", comma')
    expect(japanese.metadata).toBe(JSON.stringify({ 説明: 'プロジェクト, "引用"\n改行' }))
  })
})

describe('the CSV export opened in LibreOffice Calc that also splits on tab and space and trims spaces', () => {
  it('keeps a formula behind a tab, a space or leading spaces in its own cell, as text: nothing is computed', async () => {
    const bytes = await download('en')
    const exported = rowsOf(new TextDecoder().decode(bytes))
    const calc = rowsOf(await openInCalc(bytes, 'audit-log-split', { alsoSplitOn: ['tab', 'space'], trimSpaces: true }))
    const row = calc.find((r) => r[0] === ids.separators)
    expect(row, 'row of the event with tabs and spaces').toBeDefined()
    // One cell per column, each as the export wrote it (trimmed, as asked): no value split into a cell of its own.
    // (Calc pads every row to the widest one of the sheet: other rows, such as the header, did split on spaces.)
    const written = exported.find((r) => r[0] === ids.separators)?.map((cell) => cell.trim()) ?? []
    expect(row?.slice(0, written.length)).toEqual(written)
    expect(row?.slice(written.length).filter((cell) => cell !== '')).toEqual([])
    expect(row?.slice(1, 3)).toEqual(["x\t'=1+1", "ok\t'=2*21@evil.example"])
    const computed = new Set(['2', '3', '42', 'click', 'pwned'])
    expect(calc.flat().filter((cell) => computed.has(cell))).toEqual([])
  })
})

describe('the CSV export opened in LibreOffice Calc that splits on ";" only (Excel in German or French locales)', () => {
  /** What a formula shows in Calc: a computed value of the control's, or an error (so it was run). */
  const computedOrError = (cell: string): boolean => ['2', '3', '42', 'click', 'pwned'].includes(cell) || /^(Err:\d+|#[A-Z/0!?]+)$/.test(cell)

  it('computes a raw formula after ";" (the control)', async () => {
    const rows = rowsOf(await openInCalc('\uFEFFid,name\r\nev1,x;=1+1\r\nev2,y;=2*21\r\n', 'control-semicolon', { splitOnComma: false, alsoSplitOn: ['semicolon'] }))
    expect(rows.slice(1).map((row) => row[1])).toEqual(['2', '42'])
  })

  it('runs nothing: a sign after ";" or a line break inside a later column is neutralised', async () => {
    const bytes = await download('en')
    const exported = rowsOf(new TextDecoder().decode(bytes))
    const written = exported.find((r) => r[0] === ids.semicolons)
    expect(written?.slice(1, 3)).toEqual([shown('x;=1+1'), shown('a;-1+1@evil.example')])
    expect(written?.slice(1, 3)).toEqual(["x;'=1+1", "a;'-1+1@evil.example"])
    const calc = rowsOf(await openInCalc(bytes, 'audit-log-semicolon', { splitOnComma: false, alsoSplitOn: ['semicolon'] }))
    // The sheet is a mess of fields cut at every ";" (as such a reader makes of any comma-separated file), but no field ran.
    expect(calc.flat().filter(computedOrError)).toEqual([])
    expect(calc.flat().filter((cell) => /^\s*[=+\-@]/.test(cell))).toEqual([])
  })
})
