import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { startOtlpReceiver } from '@auditkit/test-utils'
import { afterAll, describe, expect, it } from 'vitest'
import { checkSamples, docsFiles } from './docs-samples/check.js'
import { extractSamples } from './docs-samples/extract.js'
import type { DocsSample } from './docs-samples/extract.js'
import { runSample } from './docs-samples/run.js'
import type { RunningSample } from './docs-samples/run.js'

// "Only document what works": every TypeScript block of README.md, docs/*.md and the packages' READMEs compiles against the workspace
// packages, and the main ones run as an app that copied them would (real HTTP server, real SQLite file).

const root = dirname(dirname(fileURLToPath(import.meta.url)))

/** A block that must fail, to show that the check fails and says where. */
const BROKEN_DOC = {
  file: 'docs/__broken-example__.md',
  text: [
    '# Broken',
    '',
    '```ts',
    "import { auditMiddleware } from '@auditkit/express'",
    'auditMiddleware({ logger, recordRead: true })',
    '```',
    '',
  ].join('\n'),
}

describe('docs samples compile', () => {
  const results = checkSamples(root, [BROKEN_DOC])
  const docs = results.filter((r) => r.sample.file !== BROKEN_DOC.file)

  it('finds the blocks of README.md and docs/*.md', () => {
    expect(new Set(docs.map((r) => r.sample.file))).toEqual(new Set(docsFiles(root).filter((f) => extractSamples(join(root, f)).length > 0)))
    expect(docs.length).toBeGreaterThanOrEqual(25)
    expect(docs.filter((r) => r.sample.skip !== null).length).toBeLessThanOrEqual(2)
  })

  for (const { sample, errors } of docs) {
    const name = `${sample.file} block ${sample.index} (line ${sample.line})`
    if (sample.skip) it.skip(`${name}: ${sample.skip}`, () => {})
    else it(name, () => expect(errors, errors.join('\n')).toEqual([]))
  }

  it('fails a block with a wrong option, naming the file and line', () => {
    const broken = results.filter((r) => r.sample.file === BROKEN_DOC.file).flatMap((r) => r.errors)
    expect(broken).toHaveLength(1)
    expect(broken[0]).toMatch(/^docs\/__broken-example__\.md:5:\d+ \(block 1\): .*'recordRead' does not exist/)
  })
})

function block(file: string, marker: string): DocsSample {
  const found = extractSamples(join(root, file)).filter((s) => s.code.includes(marker))
  if (found.length !== 1) throw new Error(`${file}: ${found.length} blocks contain ${JSON.stringify(marker)}`)
  return found[0] as DocsSample
}

/** The host app's own parts the README samples use. */
const HOST = `
const __projects = new Map<string, { id: string; name: string }>([['p1', { id: 'p1', name: 'Apollo' }]])
const projects = {
  get: (id: string) => __projects.get(id),
  update: (id: string, body: { name?: string }) => {
    const next = { ...__projects.get(id), ...body, id } as { id: string; name: string }
    __projects.set(id, next)
    return next
  },
}
class ProjectsService {
  get(id: string) { return projects.get(id) }
  update(id: string, body: { name?: string }) { return projects.update(id, body) }
}
const old = { id: 'p1', name: 'Apollo' }
const updated = { id: 'p1', name: 'Apollo 11' }
async function userFromToken(authorization: string | null) {
  if (authorization === 'Bearer admin-token') return { id: 'usr_ada', name: 'Ada Admin', isAdmin: true, workspaceId: 'default' }
  if (authorization === 'Bearer member-token') return { id: 'usr_max', name: 'Max Member', isAdmin: false, workspaceId: 'default' }
  return null
}
`
const ADMIN = { authorization: 'Bearer admin-token' }

interface ListedEvent {
  id: string
  action: string
  outcome: string
  resource: { type: string; id?: string }
  changes?: { before?: unknown; after?: unknown }
  context?: { method?: string; path?: string; status?: number }
}

/** The admin API's events, once `done` holds for them (async delivery writes a moment later). */
async function eventsUntil(origin: string, base: string, done: (items: ListedEvent[]) => boolean): Promise<ListedEvent[]> {
  const deadline = Date.now() + 20_000
  for (;;) {
    const res = await fetch(`${origin}${base}/api/events?limit=50`, { headers: ADMIN })
    expect(res.status).toBe(200)
    const { items } = (await res.json()) as { items: ListedEvent[] }
    if (done(items) || Date.now() > deadline) return items
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe('docs samples run', () => {
  const running: RunningSample[] = []
  afterAll(async () => {
    for (const sample of running) await sample.stop()
  })
  async function start(code: string, options?: Parameters<typeof runSample>[2]): Promise<RunningSample> {
    const sample = await runSample(root, code, options)
    running.push(sample)
    return sample
  }

  it('README: Express usage with the admin router and authorize', async () => {
    const authorize = block('README.md', 'const authorize: AuthorizeAdmin')
    const express = block('README.md', "from '@auditkit/express'")
    const app = await start(`${HOST}\n${authorize.code}\n${express.code}\napp.listen(3000)\n`)
    const patch = await fetch(`${app.origin}/projects/p1`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Apollo 11' }),
    })
    expect(patch.status).toBe(200)
    // "first: a malformed body is recorded too"
    const malformed = await fetch(`${app.origin}/projects/p1`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"name":' })
    expect(malformed.status).toBe(400)

    const items = await eventsUntil(app.origin, '/admin/audit', (all) => all.length >= 2)
    const ok = items.find((e) => e.action === 'project_updated' && e.outcome === 'success') as ListedEvent
    expect(ok).toMatchObject({ resource: { type: 'project', id: 'p1' } })
    // Refused before routing, so recorded from the path (as docs/express.md says of unmatched requests).
    const refused = items.find((e) => e.outcome === 'failure')
    expect(refused).toMatchObject({ action: 'project_updated', resource: { type: 'project', id: 'p1' } })
    expect(refused?.context).toMatchObject({ method: 'PATCH', path: '/projects/p1', status: 400 })
    const detail = (await (await fetch(`${app.origin}/admin/audit/api/events/${ok.id}`, { headers: ADMIN })).json()) as ListedEvent
    expect(detail.changes).toEqual({ before: { id: 'p1', name: 'Apollo' }, after: { id: 'p1', name: 'Apollo 11' } })

    expect((await fetch(`${app.origin}/admin/audit/api/events`)).status).toBe(401)
    expect((await fetch(`${app.origin}/admin/audit/api/events`, { headers: { authorization: 'Bearer member-token' } })).status).toBe(403)
    const csv = await fetch(`${app.origin}/admin/audit/api/export.csv?locale=ja`, { headers: ADMIN })
    expect(csv.status).toBe(200)
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/)
    expect(await csv.text()).toContain('project_updated')
    expect((await fetch(`${app.origin}/admin/audit/`, { headers: ADMIN })).headers.get('content-type')).toMatch(/^text\/html/)
  })

  it('README: Hono usage', async () => {
    const authorize = block('README.md', 'const authorize: AuthorizeAdmin')
    const hono = block('README.md', "from '@auditkit/hono'")
    const logger = `
import { createAuditLogger as __createAuditLogger } from '@auditkit/core'
import { createSqliteStore as __createSqliteStore } from '@auditkit/core/sqlite'
const logger = __createAuditLogger({ store: __createSqliteStore({ path: 'audit.db' }) })
`
    const app = await start(`${HOST}\n${logger}\n${authorize.code}\n${hono.code}\n`)
    const patch = await fetch(`${app.origin}/projects/p1`, { method: 'PATCH' })
    expect(patch.status).toBe(200)
    const items = await eventsUntil(app.origin, '/admin/audit', (all) => all.some((e) => e.action === 'project_updated'))
    const ok = items.find((e) => e.action === 'project_updated')
    expect(ok).toMatchObject({ outcome: 'success', resource: { type: 'project', id: 'p1' } })
    const detail = (await (await fetch(`${app.origin}/admin/audit/api/events/${ok?.id}`, { headers: ADMIN })).json()) as ListedEvent
    expect(detail.changes).toEqual({ before: old(), after: { id: 'p1', name: 'Apollo 11' } })
  })

  it('README: NestJS usage with AuditAdminModule', async () => {
    const authorize = block('README.md', 'const authorize: AuthorizeAdmin')
    const nest = block('README.md', "from '@auditkit/nestjs'")
    const host = `
import { createAuditLogger as __createAuditLogger } from '@auditkit/core'
import { createSqliteStore as __createSqliteStore } from '@auditkit/core/sqlite'
import { NestFactory as __NestFactory } from '@nestjs/core'
const logger = __createAuditLogger({ store: __createSqliteStore({ path: 'audit.db' }) })
`
    const listen = `const __app = await __NestFactory.create(AppModule, { logger: false })\nawait __app.listen(3000)\n`
    const app = await start(`${HOST}\n${host}\n${authorize.code}\n${nest.code}\n${listen}`)
    const json = { 'content-type': 'application/json' }
    expect((await fetch(`${app.origin}/projects/p1`, { method: 'PATCH', headers: json, body: '{"name":"Apollo 11"}' })).status).toBe(200)
    expect((await fetch(`${app.origin}/projects/p1/archive`, { method: 'POST' })).status).toBe(201)
    expect((await fetch(`${app.origin}/projects/preview`, { method: 'POST' })).status).toBe(201)
    const items = await eventsUntil(app.origin, '/admin/audit', (all) => all.length >= 2)
    expect(items.map((e) => e.action).sort()).toEqual(['project_archived', 'project_updated'])
    const updated = items.find((e) => e.action === 'project_updated')
    expect(updated?.resource).toMatchObject({ type: 'project', id: 'p1' })
    const detail = (await (await fetch(`${app.origin}/admin/audit/api/events/${updated?.id}`, { headers: ADMIN })).json()) as ListedEvent
    expect(detail.changes).toEqual({ before: old(), after: { id: 'p1', name: 'Apollo 11' } })
  })

  it('docs/siem.md: the SIEM service behind the admin handler streams to a real collector', async () => {
    const siem = block('docs/siem.md', 'createSiemAdminService(siem)')
    const receiver = await startOtlpReceiver({ protocol: 'http/protobuf', bearerToken: 'collector-token' })
    try {
      const host = `
import { createServer as __createServer } from 'node:http'
import { serveNodeRequest as __serveNodeRequest } from '@auditkit/core'
const authorize = async (request: Request) =>
  request.headers.get('authorization') === 'Bearer admin-token'
    ? { tenantId: 'acme', actor: { type: 'user' as const, id: 'usr_ada', name: 'Ada Admin' } }
    : null
`
      const serve = `__createServer((req, res) => void __serveNodeRequest(admin, req, res)).listen(3000)\n`
      const app = await start(`${host}\n${siem.code}\n${serve}`, {
        env: { AUDITKIT_SECRET_KEY: Buffer.alloc(32, 7).toString('base64') },
      })
      const json = { ...ADMIN, 'content-type': 'application/json' }
      const settings = { enabled: true, endpoint: receiver.endpoint, protocol: 'http/protobuf', headers: '{"Authorization":"Bearer collector-token"}' }
      const test = await fetch(`${app.origin}/api/settings/siem/test`, { method: 'POST', headers: json, body: JSON.stringify(settings) })
      expect(await test.json()).toMatchObject({ ok: true, result: 'ok' })
      const saved = await fetch(`${app.origin}/api/settings/siem`, { method: 'PUT', headers: json, body: JSON.stringify(settings) })
      expect(saved.status).toBe(200)
      const read = (await (await fetch(`${app.origin}/api/settings/siem`, { headers: ADMIN })).json()) as { settings: { headers: Record<string, string> } }
      expect(read.settings.headers).toEqual({ Authorization: '****oken' })
      // The save itself is an event (siem_config_updated), streamed like any other, with the sample's serviceName.
      const records = await receiver.waitForRecords(2, 30_000)
      const event = records.find((r) => r.eventName === 'siem_config_updated')
      expect(event?.attributes['audit.tenant.id']).toBe('acme')
      expect(event?.resource['service.name']).toBe('my-saas')
    } finally {
      await receiver.close()
    }
  })

  it('docs/integrity.md: checkpoints, then the documented auditkit keygen / verify / export commands', async () => {
    const integrity = block('docs/integrity.md', 'createCheckpointer({')
    const cwd = mkdtempSync(join(tmpdir(), 'auditkit-docs-integrity-'))
    try {
      // auditkit, as docs/integrity.md runs it in this repository without a build
      const cli = [join(root, 'packages/core/src/cli/auditkit.ts')]
      const auditkit = (args: string[]) =>
        promisify(execFile)(process.execPath, ['--import', join(root, 'node_modules/tsx/dist/loader.mjs'), '--conditions=source', ...cli, ...args], { cwd }).then(
          (r) => ({ code: 0, stdout: r.stdout }),
          (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: `${e.stdout}${e.stderr}` }),
        )
      const doc = readFileSync(join(root, 'docs/integrity.md'), 'utf8')
      expect(doc).toContain('auditkit keygen --private-key signing.pem --public-key signing.pub.pem')
      expect(doc).toContain('auditkit verify --sqlite audit.db --public-key signing.pub.pem --hmac-key-file hmac.key')
      expect(doc).toContain('auditkit export --sqlite audit.db --tenant acme > acme.ndjson')
      // The shutdown order the sample's comment gives, which the final checkpoint depends on.
      expect(integrity.code).toContain('on shutdown: await logger.close(); await checkpointer.close()')
      expect((await auditkit(['keygen', '--private-key', 'signing.pem', '--public-key', 'signing.pub.pem'])).code).toBe(0)
      writeFileSync(join(cwd, 'hmac.key'), 'docs-hmac-key')
      const record = `
for (let i = 0; i < 5; i++) {
  await logger.record({ tenantId: 'acme', actor: { type: 'system', id: 'scheduler' }, action: 'project_created', resource: { type: 'project', id: 'p' + i }, outcome: 'success' })
}
await logger.close()
await checkpointer.close()
`
      const run = await start(`${integrity.code}\n${record}`, {
        cwd,
        untilExit: true,
        env: {
          AUDIT_HMAC_KEY: 'docs-hmac-key',
          AUDIT_SIGNING_KEY: readFileSync(join(cwd, 'signing.pem'), 'utf8'),
          AUDIT_PUBLIC_KEY: readFileSync(join(cwd, 'signing.pub.pem'), 'utf8'),
        },
      })
      expect(run.output()).toBe('')
      const verified = await auditkit(['verify', '--sqlite', 'audit.db', '--public-key', 'signing.pub.pem', '--hmac-key-file', 'hmac.key'])
      expect(verified.stdout).toMatch(/^ok acme seq 1\.\.5 \(5 events, 1 checkpoints, signatures verified, HMAC\)$/m)
      expect(verified.code).toBe(0)
      const exported = await auditkit(['export', '--sqlite', 'audit.db', '--tenant', 'acme'])
      expect(exported.code).toBe(0)
      writeFileSync(join(cwd, 'acme.ndjson'), exported.stdout)
      const offline = await auditkit(['verify', '--ndjson', 'acme.ndjson', '--public-key', 'signing.pub.pem', '--hmac-key-file', 'hmac.key'])
      expect(offline).toMatchObject({ code: 0 })
      expect(offline.stdout).toMatch(/^ok acme seq 1\.\.5 /m)
    } finally {
      rmSync(cwd, { recursive: true, force: true })
    }
  })
})

function old(): { id: string; name: string } {
  return { id: 'p1', name: 'Apollo' }
}
