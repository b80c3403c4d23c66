/** Hono on @hono/node-server: bare, with AuditKit's auditMiddleware, or with pino-http (see ../overhead/bench-server.ts). */
import type { AddressInfo } from 'node:net'
import { auditMiddleware } from '@auditkit/hono'
import { serve, type HttpBindings } from '@hono/node-server'
import { Hono } from 'hono'
import { pinoHttp } from 'pino-http'
import { announce, BENCH_USER, benchPino, benchVariant, createBenchAudit, createCpuCounter, type BenchAudit } from '../overhead/bench-server.js'

type Env = { Bindings: HttpBindings; Variables: { user: typeof BENCH_USER } }

const variant = benchVariant()
const app = new Hono<Env>()
const cpu = createCpuCounter()
let audit: BenchAudit | undefined

app.use(async (c, next) => {
  c.set('user', BENCH_USER)
  await next()
})
if (variant === 'auditkit') {
  audit = createBenchAudit('hono')
  app.use(auditMiddleware<Env>({ logger: audit.logger, tenant: () => 'bench' }))
} else if (variant === 'pino-http') {
  // pino-http works on Node's request/response, which @hono/node-server passes as bindings.
  const httpLogger = pinoHttp({ logger: benchPino() })
  app.use(async (c, next) => {
    httpLogger(c.env.incoming, c.env.outgoing)
    await next()
  })
}

app.get('/__bench/reset', (c) => {
  cpu.reset()
  return c.json({ ok: true })
})
app.get('/__bench/cpu', (c) => c.json(cpu.report()))
app.post('/projects', async (c) => {
  cpu.served()
  const { name } = await c.req.json<{ name?: string }>()
  return c.json({ id: 'p_1', name: name ?? 'Untitled' }, 201)
})

// BENCH_METHOD=GET: a read, which AuditKit does not record (the cost every GET pays for having the middleware).
app.get('/projects/:projectId', (c) => {
  cpu.served()
  return c.json({ id: c.req.param('projectId'), name: 'Apollo' })
})

const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) => {
  announce(info.port, async () => {
    await new Promise((resolve) => server.close(resolve))
    await audit?.close()
  })
})
