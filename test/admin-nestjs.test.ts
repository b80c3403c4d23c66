import 'reflect-metadata'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { AuditAdminModule } from '@auditkit/nestjs'
import { NestFactory } from '@nestjs/core'
import { describe, expect, it } from 'vitest'
import { TOKENS, createAdminFixture } from './fixtures/admin-fixture.js'
import { describeAdminApi } from './fixtures/admin-http-suite.js'
import { startNestAdmin } from './fixtures/admin-servers.js'

describeAdminApi('admin routes over HTTP: NestJS', startNestAdmin)

describe('AuditAdminModule.forRootAsync', () => {
  it('builds the handler from a factory and serves it at the path', async () => {
    const fixture = await createAdminFixture()
    const app = await NestFactory.create(
      AuditAdminModule.forRootAsync({ path: '/audit-admin/', useFactory: async () => fixture.adminOptions }),
      { logger: false },
    )
    try {
      await app.listen(0, '127.0.0.1')
      const origin = `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}`
      expect((await fetch(`${origin}/audit-admin/api/columns`)).status).toBe(401)
      const page = await fetch(`${origin}/audit-admin/api/events?limit=3`, { headers: { authorization: `Bearer ${TOKENS.adminA}` } })
      expect(page.status).toBe(200)
      expect(((await page.json()) as { items: unknown[] }).items).toHaveLength(3)
      const redirect = await fetch(`${origin}/audit-admin`, { headers: { authorization: `Bearer ${TOKENS.adminA}` }, redirect: 'manual' })
      expect(redirect.headers.get('location')).toBe('/audit-admin/')
    } finally {
      await app.close()
      await fixture.close()
    }
  })
})
