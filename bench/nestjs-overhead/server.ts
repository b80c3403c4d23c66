/**
 * NestJS on platform-express: bare, with AuditKit's AuditModule, or with pino-http (see ../overhead/bench-server.ts).
 * Runs under tsx, which compiles decorators but emits no decorator metadata: dependencies use explicit @Inject().
 */
import 'reflect-metadata'
import type { AddressInfo } from 'node:net'
import { AuditModule } from '@auditkit/nestjs'
import { Body, Controller, Get, Module, Param, Post, type DynamicModule, type MiddlewareConsumer, type NestModule } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import type { NestExpressApplication } from '@nestjs/platform-express'
import { pinoHttp } from 'pino-http'
import { announce, BENCH_USER, benchPino, benchVariant, createBenchAudit, createCpuCounter, type BenchAudit } from '../overhead/bench-server.js'

const variant = benchVariant()
const cpu = createCpuCounter()
const audit: BenchAudit | undefined = variant === 'auditkit' ? createBenchAudit('nestjs') : undefined

@Controller()
class BenchController {
  @Get('__bench/reset')
  reset() {
    cpu.reset()
    return { ok: true }
  }

  @Get('__bench/cpu')
  report() {
    return cpu.report()
  }

  @Post('projects')
  create(@Body() body: { name?: string }) {
    cpu.served()
    return { id: 'p_1', name: body.name ?? 'Untitled' }
  }

  // BENCH_METHOD=GET: a read, which AuditKit does not record (the cost every GET pays for having the interceptor).
  @Get('projects/:projectId')
  show(@Param('projectId') projectId: string) {
    cpu.served()
    return { id: projectId, name: 'Apollo' }
  }
}

@Module({ controllers: [BenchController] })
class BenchModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    // The same stand-in authentication for every variant, so only the logging differs.
    consumer
      .apply((req: { user?: unknown }, _res: unknown, next: () => void) => {
        req.user = BENCH_USER
        next()
      })
      .forRoutes('{*path}')
  }
}

// BENCH_ASYNC_CONTEXT=false: AuditModule without AsyncLocalStorage (`asyncContext: false`), to see what it costs.
const asyncContext = process.env.BENCH_ASYNC_CONTEXT !== 'false'
const root: DynamicModule = {
  module: class AppModule {},
  imports: [BenchModule, ...(audit ? [AuditModule.forRoot({ logger: audit.logger, tenant: () => 'bench', asyncContext })] : [])],
}

const app = await NestFactory.create<NestExpressApplication>(root, { logger: false })
if (variant === 'pino-http') app.use(pinoHttp({ logger: benchPino() }))
await app.listen(0, '127.0.0.1')
announce((app.getHttpServer().address() as AddressInfo).port, async () => {
  await app.close()
  await audit?.close()
})
