/** Express: bare, with AuditKit's auditMiddleware (async, SQLite file store), or with pino-http (see ../overhead/bench-server.ts). */
import type { AddressInfo } from 'node:net'
import { auditMiddleware } from '@auditkit/express'
import express from 'express'
import { pinoHttp } from 'pino-http'
import { announce, BENCH_USER, benchPino, benchVariant, createBenchAudit, createCpuCounter, type BenchAudit } from '../overhead/bench-server.js'

const variant = benchVariant()
const app = express()
const cpu = createCpuCounter()
let audit: BenchAudit | undefined

// The same stand-in authentication for every variant, so only the logging differs.
app.use((req, _res, next) => {
  ;(req as { user?: unknown }).user = BENCH_USER
  next()
})
if (variant === 'auditkit') {
  audit = createBenchAudit('express')
  app.use(auditMiddleware({ logger: audit.logger, tenant: () => 'bench' }))
} else if (variant === 'pino-http') {
  app.use(pinoHttp({ logger: benchPino() }))
}
app.get('/__bench/reset', (_req, res) => {
  cpu.reset()
  res.json({ ok: true })
})
app.get('/__bench/cpu', (_req, res) => {
  res.json(cpu.report())
})
app.post('/projects', express.json(), (req, res) => {
  cpu.served()
  const { name } = req.body as { name?: string }
  res.status(201).json({ id: 'p_1', name: name ?? 'Untitled' })
})

// BENCH_METHOD=GET: a read, which AuditKit does not record (the cost every GET pays for having the middleware).
app.get('/projects/:projectId', (req, res) => {
  cpu.served()
  res.json({ id: req.params.projectId, name: 'Apollo' })
})

const server = app.listen(0, '127.0.0.1', () => {
  announce((server.address() as AddressInfo).port, async () => {
    server.close()
    await audit?.close()
  })
})
