import 'reflect-metadata'
import { mkdtempSync, rmSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createAuditLogger, createSiemAdminService, createSiemService, type AuditAdminOptions, type AuditLogger } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'
import { auditAdminRouter, auditMiddleware as expressAudit } from '@auditkit/express'
import { auditAdminApp, auditMiddleware as honoAudit } from '@auditkit/hono'
import { AuditAdminModule, AuditModule } from '@auditkit/nestjs'
import { serve } from '@hono/node-server'
import { Module } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import express from 'express'
import { Hono } from 'hono'
import { afterAll, describe, expect, it } from 'vitest'

// An app that mounts the audit middleware before the admin routes, as the READMEs do, with no `skip` option: the admin
// routes' own events are recorded once, Test Connection not at all, and a refused admin change as a failure.
const dir = mkdtempSync(join(tmpdir(), 'auditkit-admin-capture-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

interface Running {
  origin: string
  close(): Promise<void>
}

function adminOptions(logger: AuditLogger): AuditAdminOptions {
  const siem = createSiemService({ logger, secretKey: Buffer.alloc(32, 7), onError: () => {} })
  return {
    logger,
    uiDir: false,
    siem: createSiemAdminService(siem),
    authorize: (request) => {
      const token = request.headers.get('authorization')
      if (token === 'Bearer admin') return { tenantId: 'acme', actor: { type: 'user', id: 'admin_1' } }
      return token === 'Bearer member' ? 'forbidden' : null
    },
  }
}

const listen = (server: Server): Promise<Running> =>
  new Promise((resolve) => {
    const ready = (): void =>
      resolve({
        origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      })
    if (server.listening) ready()
    else server.once('listening', ready)
  })

const apps: Record<string, (logger: AuditLogger) => Promise<Running>> = {
  express: async (logger) => {
    const app = express()
    app.use(express.json())
    app.use(expressAudit({ logger, tenant: () => 'acme' }))
    app.use('/admin/audit', auditAdminRouter(adminOptions(logger)))
    return listen(app.listen(0, '127.0.0.1'))
  },
  hono: async (logger) => {
    const app = new Hono()
    app.use(honoAudit({ logger, tenant: () => 'acme' }))
    app.route('/admin/audit', auditAdminApp(adminOptions(logger)))
    return listen(serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }) as Server)
  },
  nestjs: async (logger) => {
    @Module({ imports: [AuditModule.forRoot({ logger, tenant: () => 'acme' }), AuditAdminModule.forRoot({ path: 'admin/audit', ...adminOptions(logger) })] })
    class AppModule {}
    const app = await NestFactory.create(AppModule, { logger: false })
    await app.listen(0, '127.0.0.1')
    const running = await listen(app.getHttpServer() as Server)
    return { origin: running.origin, close: () => app.close() }
  },
}

describe.each(Object.entries(apps))('admin routes behind the %s audit middleware', (name, start) => {
  it('records a settings save once, Test Connection not at all, and a refused change as a failure', async () => {
    const store = createSqliteStore({ path: join(dir, `${name}.db`) })
    const logger = createAuditLogger({ store, onError: () => {} })
    const app = await start(logger)
    try {
      const send = (path: string, token: string, body: unknown): Promise<Response> =>
        fetch(`${app.origin}/admin/audit${path}`, {
          method: path.endsWith('/test') ? 'POST' : 'PUT',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
      const settings = { enabled: false, endpoint: 'http://127.0.0.1:1/v1/logs', protocol: 'http/protobuf', headers: {} }
      expect((await send('/api/settings/siem', 'admin', settings)).status).toBe(200)
      expect((await send('/api/settings/siem/test', 'admin', settings)).status).toBe(200)
      expect((await send('/api/settings/siem', 'member', settings)).status).toBe(403)
      await logger.flush()
      const events = (await store.readChain('acme', 0, 100)).map((event) => [event.action, event.outcome, event.context?.status])
      expect(events).toEqual([
        ['siem_config_updated', 'success', undefined],
        [expect.any(String), 'failure', 403],
      ])
    } finally {
      await app.close()
      await logger.close()
      await store.close()
    }
  })
})
