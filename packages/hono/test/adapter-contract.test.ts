import type { AddressInfo } from 'node:net'
import {
  FIXTURE_TENANT_HEADER,
  authenticateFixture,
  createFixtureRoutes,
  fixtureActor,
  fixtureTenant,
  runAdapterContract,
  type AdapterHarness,
  type FixturePrincipal,
} from '@auditkit/test-utils'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import type { ContentfulStatusCode, StatusCode } from 'hono/utils/http-status'
import { auditMiddleware } from '../src/index.js'

type Env = { Variables: { principal: FixturePrincipal | null } }

const harness: AdapterHarness = {
  async startApp({ logger, delivery, trustProxy, recordReads, deriveOperation }) {
    const app = new Hono<Env>()
    app.use(
      auditMiddleware<Env>({
        logger,
        delivery,
        recordReads,
        deriveOperation,
        trustProxy,
        actor: (c) => fixtureActor(c.get('principal')),
        tenant: (c) => fixtureTenant(c.req.header(FIXTURE_TENANT_HEADER), c.get('principal')),
      }),
    )
    app.use(async (c, next) => {
      const principal = authenticateFixture(c.req.header('authorization'))
      if (principal === 'invalid') return c.json({ error: { code: 'UNAUTHENTICATED', message: 'Unknown token' } }, 401)
      c.set('principal', principal)
      await next()
    })
    for (const route of createFixtureRoutes()) {
      app.on(route.method, route.path, async (c) => {
        const body: unknown = c.req.header('content-type')?.includes('json') ? await c.req.json() : undefined
        const { status, body: answer } = await route.handle({ params: c.req.param(), body, principal: c.get('principal'), audit: c.get('audit') })
        return answer === undefined ? c.body(null, status as StatusCode) : c.json(answer, status as ContentfulStatusCode)
      })
    }
    app.onError((_error, c) => c.json({ error: { code: 'INTERNAL', message: 'Internal error' } }, 500))
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 })
    await new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', () => resolve())))
    return {
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    }
  },
}

runAdapterContract('hono', harness)
