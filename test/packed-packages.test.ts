// The published packages as a user installs them: `pnpm pack` of each built package, unpacked into a fresh project's
// node_modules/@auditkit, and run by plain Node (no `source` condition, no tsx) from a CommonJS and an ES module app.
// Third-party dependencies are linked from the workspace, so that nothing is downloaded.
import { execFile, execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { publint } from 'publint'
import { formatMessage } from 'publint/utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))
const PUBLISHED = ['core', 'express', 'hono', 'nestjs', 'admin-ui'] as const
const dir = mkdtempSync(join(tmpdir(), 'auditkit-packed-'))
const app = join(dir, 'app')
afterAll(() => rmSync(dir, { recursive: true, force: true }))

interface PackageJson {
  name: string
  main?: string
  module?: string
  types?: string
  bin?: Record<string, string>
  exports?: unknown
  typesVersions?: unknown
  dependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
}

const manifest = (name: string): PackageJson => JSON.parse(readFileSync(join(app, 'node_modules', '@auditkit', name, 'package.json'), 'utf8')) as PackageJson

/** The environment of a user's process: none of the test runner's loaders or conditions (`--conditions=source`). */
function userEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env }
  delete env.NODE_OPTIONS
  return env
}

beforeAll(() => {
  for (const name of PUBLISHED) {
    if (!existsSync(join(root, 'packages', name, 'dist'))) throw new Error(`packages/${name} is not built: run the build first`)
  }
  const packed = join(dir, 'packed')
  const filters = PUBLISHED.flatMap((name) => ['--filter', `@auditkit/${name}`])
  execFileSync('npx', ['-y', 'pnpm@10.34.9', ...filters, 'pack', '--pack-destination', packed], { cwd: root, stdio: 'pipe', env: userEnv() })
  for (const name of PUBLISHED) {
    const target = join(app, 'node_modules', '@auditkit', name)
    mkdirSync(target, { recursive: true })
    const { version } = JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8')) as { version: string }
    execFileSync('tar', ['-xzf', join(packed, `auditkit-${name}-${version}.tgz`), '-C', target, '--strip-components=1'])
  }
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true }))
  // Every third-party dependency and peer of the packed packages, as the workspace installed it.
  const linked = new Set<string>()
  for (const name of PUBLISHED) {
    const { dependencies = {}, peerDependencies = {} } = manifest(name)
    for (const dep of Object.keys({ ...dependencies, ...peerDependencies })) {
      if (dep.startsWith('@auditkit/') || linked.has(dep)) continue
      const installed = [join(root, 'packages', name, 'node_modules', dep), join(root, 'node_modules', dep)].find((path) => existsSync(path))
      if (!installed) continue // an optional peer the workspace does not install
      const link = join(app, 'node_modules', dep)
      mkdirSync(dirname(link), { recursive: true })
      symlinkSync(realpathSync(installed), link, 'dir')
      linked.add(dep)
    }
  }
  // What a TypeScript app installs next to them.
  for (const types of ['@types/node', '@types/express']) {
    mkdirSync(join(app, 'node_modules', '@types'), { recursive: true })
    symlinkSync(realpathSync(join(root, 'node_modules', types)), join(app, 'node_modules', types), 'dir')
  }
}, 120_000)

describe('the tarballs', () => {
  /** Every file a package.json field or export condition names (the workspace's `source` condition included: none). */
  function targets(pkg: PackageJson): string[] {
    const found: string[] = []
    const walk = (value: unknown): void => {
      if (typeof value === 'string') found.push(value)
      else if (value && typeof value === 'object') for (const v of Object.values(value)) walk(v)
    }
    walk(pkg.exports)
    walk(pkg.typesVersions)
    for (const field of [pkg.main, pkg.module, pkg.types, ...Object.values(pkg.bin ?? {})]) if (field) found.push(field)
    return found
  }

  it.each(PUBLISHED)('@auditkit/%s ships every file its package.json points at', (name) => {
    const pkg = manifest(name)
    const base = join(app, 'node_modules', '@auditkit', name)
    const missing = targets(pkg).filter((target) => !existsSync(join(base, target)))
    expect(missing).toEqual([])
    expect(JSON.stringify(pkg)).not.toContain('workspace:')
    // The workspace's `source` condition points at src/, which is not shipped: a consumer running Node with
    // `--conditions=source` (a common name for live types in monorepos) would fail to load the package.
    expect(JSON.stringify(pkg.exports ?? {})).not.toContain('"source"')
  })

  // publint as the registry sees the package: the unpacked tarball, every file in it published (`pack: false`).
  // It catches what TypeScript and bundlers trip over (`types` not first in a condition, `default` not last, an
  // export or typesVersions target missing from the tarball, a file whose syntax does not match its extension or
  // the package's `type`, a bin without its shebang), and its suggestions (such as `engines.node`) too.
  // @arethetypeswrong/cli, which also reads the declarations, is a manual check before a release (README, Development):
  // it brings a TypeScript of its own. The TypeScript apps below check the same resolution with this repo's compiler.
  it.each(PUBLISHED)('publint finds nothing to fix in @auditkit/%s as packed', async (name) => {
    const pkgDir = join(app, 'node_modules', '@auditkit', name)
    const { messages, pkg } = await publint({ pkgDir, pack: false, strict: true })
    expect(messages.map((message) => `${message.type} ${message.code}: ${formatMessage(message, pkg) ?? ''}`)).toEqual([])
  })

  it('@auditkit/admin-ui ships the built page with its assets', () => {
    const dist = join(app, 'node_modules', '@auditkit', 'admin-ui', 'dist')
    expect(existsSync(join(dist, 'index.html'))).toBe(true)
    const assets = readdirSync(join(dist, 'assets'))
    expect(assets.some((file) => file.endsWith('.js'))).toBe(true)
    expect(assets.some((file) => file.endsWith('.css'))).toBe(true)
  })
})

/**
 * One app: the SQLite store with its default writer (a worker thread), an event recorded directly, Express with
 * auditMiddleware and the admin router, Hono on @hono/node-server. Prints what it saw as JSON.
 */
const SCENARIO = `
/** Events handed to a worker thread: the SQLite writer thread, which the default store writes through. */
const threadEvents = { count: 0 }
const postMessage = Worker.prototype.postMessage
Worker.prototype.postMessage = function (message, transfer) {
  if (message && Array.isArray(message.events)) threadEvents.count += message.events.length
  return postMessage.call(this, message, transfer)
}

async function listen(server) {
  if (!server.listening) await new Promise((resolve) => server.once('listening', resolve))
  return 'http://127.0.0.1:' + server.address().port
}

function close(server) {
  server.closeAllConnections()
  return new Promise((resolve) => server.close(resolve))
}

async function main() {
  const store = createSqliteStore({ path: process.argv[2] })
  const logger = createAuditLogger({ store })
  await logger.record({ tenantId: 'acme', actor: { type: 'user', id: 'u_1' }, action: 'report_generated', resource: { type: 'report', id: 'r_1' }, outcome: 'success' })

  const app = express()
  app.use(auditMiddleware({ logger, tenant: () => 'acme' }))
  app.use('/admin/audit', auditAdminRouter({ logger, authorize: async () => ({ tenantId: 'acme', actor: { type: 'user', id: 'u_admin' } }) }))
  app.post('/projects/:projectId/archive', (req, res) => res.json({ ok: true }))
  const expressServer = app.listen(0, '127.0.0.1')
  const base = await listen(expressServer)
  const expressPost = (await fetch(base + '/projects/p_1/archive', { method: 'POST' })).status
  const page = await fetch(base + '/admin/audit/')
  const html = await page.text()
  const assetPath = (/assets\\/[^"]+\\.js/.exec(html) || [''])[0]
  const asset = await fetch(base + '/admin/audit/' + assetPath)
  const assetBytes = (await asset.arrayBuffer()).byteLength

  const hono = new Hono()
  hono.use(honoAuditMiddleware({ logger, tenant: () => 'acme' }))
  hono.post('/boards/:boardId/archive', (c) => c.json({ ok: true }))
  const honoServer = serve({ fetch: hono.fetch, port: 0, hostname: '127.0.0.1' })
  const honoPost = (await fetch((await listen(honoServer)) + '/boards/b_1/archive', { method: 'POST' })).status

  await Promise.all([close(expressServer), close(honoServer)])
  await logger.close()
  const range = { from: '2000-01-01T00:00:00.000Z', to: '2100-01-01T00:00:00.000Z' }
  const events = (await store.query({ tenantId: 'acme', ...range, limit: 10 })).items.map((event) => event.action + ' ' + event.resource.type + ':' + event.resource.id).sort()
  // A store error (no time range) is an AuditKitError of the package the app imported it from.
  const storeError = await store.query({ tenantId: 'acme', limit: 1 }).catch((error) => error)
  await store.close()
  return {
    threadEvents: threadEvents.count,
    events,
    storeError: { code: storeError && storeError.code, isAuditKitError: isAuditKitError(storeError) },
    expressPost,
    honoPost,
    page: { status: page.status, type: page.headers.get('content-type'), hasRoot: html.includes('<div id="app">') },
    asset: { path: assetPath, status: asset.status, type: asset.headers.get('content-type'), bytes: assetBytes },
  }
}

main().then((result) => console.log(JSON.stringify(result)), (error) => { console.error(error); process.exitCode = 1 })
`

const CJS = `'use strict'
const { Worker } = require('node:worker_threads')
const { createAuditLogger, isAuditKitError } = require('@auditkit/core')
const { createSqliteStore } = require('@auditkit/core/sqlite')
const { auditMiddleware, auditAdminRouter } = require('@auditkit/express')
const { auditMiddleware: honoAuditMiddleware } = require('@auditkit/hono')
const express = require('express')
const { Hono } = require('hono')
const { serve } = require('@hono/node-server')
${SCENARIO}`

const ESM = `import { Worker } from 'node:worker_threads'
import { createAuditLogger, isAuditKitError } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'
import { auditMiddleware, auditAdminRouter } from '@auditkit/express'
import { auditMiddleware as honoAuditMiddleware } from '@auditkit/hono'
import express from 'express'
import { Hono } from 'hono'
import { serve } from '@hono/node-server'
${SCENARIO}`

describe.each([
  { kind: 'CommonJS', file: 'app.cjs', source: CJS },
  { kind: 'ES module', file: 'app.mjs', source: ESM },
])('a $kind app using the installed packages', ({ file, source }) => {
  const db = join(dir, `${file}.db`)

  it('records through the SQLite writer thread, from Express and Hono, and serves the admin page', () => {
    writeFileSync(join(app, file), source)
    const run = spawnSync(process.execPath, [file, db], { cwd: app, encoding: 'utf8', env: userEnv(), timeout: 30_000 })
    expect(run.status, run.stderr).toBe(0)
    // The store falls back to the main thread with a console line when it cannot use its thread.
    expect(run.stderr).not.toContain('[auditkit]')
    const result = JSON.parse(run.stdout) as Record<string, unknown>
    // Every event went to the writer thread: none was written on the request thread instead.
    expect(result.threadEvents).toBeGreaterThanOrEqual(3)
    expect(result).toMatchObject({
      events: ['board_archived board:b_1', 'project_archived project:p_1', 'report_generated report:r_1'],
      storeError: { code: 'INVALID_RANGE', isAuditKitError: true },
      expressPost: 200,
      honoPost: 200,
      page: { status: 200, type: expect.stringMatching(/^text\/html/), hasRoot: true },
      asset: { status: 200, type: expect.stringMatching(/^text\/javascript/) },
    })
    expect(result.asset).toMatchObject({ path: expect.stringMatching(/^assets\//), bytes: expect.any(Number) })
  })

  it('the installed `auditkit` command verifies the file the app wrote', () => {
    const bin = manifest('core').bin?.auditkit
    expect(bin).toBeDefined()
    const command = join(app, 'node_modules', '@auditkit', 'core', bin as string)
    const run = spawnSync(process.execPath, [command, 'verify', '--sqlite', relative(app, db)], { cwd: app, encoding: 'utf8', env: userEnv(), timeout: 30_000 })
    expect(run.status, run.stderr + run.stdout).toBe(0)
    expect(run.stdout).toMatch(/^ok acme seq 1\.\.3 /m)
  })
})

/** Every public entry, used so that a declaration resolving to `any` fails too (the `@ts-expect-error` lines). */
const TS_CONSUMER = `import { createAuditLogger, isAuditKitError, type AuditEvent } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'
import { createMongoStore } from '@auditkit/core/mongodb'
import { auditAdminRouter, auditMiddleware } from '@auditkit/express'
import { auditAdminApp, auditMiddleware as honoAuditMiddleware } from '@auditkit/hono'
import { Audit, AuditModule, AuditService } from '@auditkit/nestjs'
import { assetsDir } from '@auditkit/admin-ui'

const logger = createAuditLogger({ store: createSqliteStore({ path: 'audit.db' }) })
const authorize = async () => ({ tenantId: 'acme', actor: { type: 'user' as const, id: 'u_admin' } })
export const uses = [
  isAuditKitError,
  createMongoStore,
  auditMiddleware({ logger }),
  auditAdminRouter({ logger, authorize }),
  honoAuditMiddleware({ logger }),
  auditAdminApp({ logger, authorize }),
  AuditModule.forRoot({ logger }),
  Audit({ action: 'project_archived' }),
  AuditService,
  assetsDir.length,
]
export const action = (event: AuditEvent): string => event.action
// @ts-expect-error the path is a string
createSqliteStore({ path: 1 })
// @ts-expect-error the store is required
createAuditLogger({})
`

/** Runs `task`s at most `limit` at a time: the compilers below are single-threaded and each takes seconds. */
function limited(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0
  const waiting: Array<() => void> = []
  return async (task) => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve))
    else running++
    try {
      return await task()
    } finally {
      const next = waiting.shift()
      if (next) next()
      else running--
    }
  }
}

describe('TypeScript apps type-check against the installed declarations', () => {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  const strict = { target: 'es2022', strict: true, noEmit: true, skipLibCheck: false, types: ['node'], experimentalDecorators: true, emitDecoratorMetadata: true }
  const slot = limited(Math.max(2, availableParallelism()))

  // `for`, not `each`: concurrent tests assert through their own context's `expect`.
  it.concurrent.for([
    // TypeScript 5's default for `module: commonjs` (NestJS 10's starter): subpaths resolve through typesVersions.
    { kind: 'CommonJS, moduleResolution node10', type: undefined, options: { module: 'commonjs', moduleResolution: 'node10', ignoreDeprecations: '6.0' } },
    { kind: 'CommonJS, module nodenext', type: undefined, options: { module: 'nodenext' } },
    { kind: 'ES module, module nodenext', type: 'module', options: { module: 'nodenext' } },
    { kind: 'ES module, module node16', type: 'module', options: { module: 'node16' } },
    // node16 cannot require ES modules, and NestJS 12 is one: this app leaves @auditkit/nestjs out (Nest's own error).
    // It also fails on a `require` condition whose declarations are ES module ones (.d.ts in a `type: module` package).
    { kind: 'CommonJS, module node16, without NestJS', type: undefined, options: { module: 'node16' }, withoutNest: true },
    // A bundled app (Vite, esbuild, webpack 5): the `import` conditions, declarations included.
    { kind: 'bundler, moduleResolution bundler', type: 'module', options: { module: 'esnext', moduleResolution: 'bundler' } },
  ])('$kind', { timeout: 300_000 }, async ({ kind, type, options, withoutNest }, { expect }) => {
    const project = join(dir, `ts-${kind.replace(/\W+/g, '-')}`)
    mkdirSync(project)
    symlinkSync(join(app, 'node_modules'), join(project, 'node_modules'), 'dir')
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, ...(type ? { type } : {}) }))
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...strict, ...options }, files: ['app.ts'] }))
    const source = withoutNest
      ? TS_CONSUMER.replace(/^import .*'@auditkit\/nestjs'\n/m, '').replace(/^ {2}(AuditModule\.forRoot|Audit\(|AuditService).*\n/gm, '')
      : TS_CONSUMER
    writeFileSync(join(project, 'app.ts'), source)
    const result = await slot(() => promisify(execFile)(process.execPath, [tsc, '-p', project], { cwd: project, env: userEnv() })).then(
      () => '',
      (error: { stdout?: string; message: string }) => error.stdout || error.message,
    )
    expect(result).toBe('')
  })
})
