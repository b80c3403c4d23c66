import 'reflect-metadata'
import type { AddressInfo } from 'node:net'
import { runAdapterContract, type AdapterHarness } from '@auditkit/test-utils'
import type { INestApplication } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import type { NestExpressApplication } from '@nestjs/platform-express'
import { FastifyAdapter } from '@nestjs/platform-fastify'
import { fixtureAppModule } from './fixture-module.js'

async function serve(app: INestApplication): Promise<{ baseUrl: string; close(): Promise<void> }> {
  await app.listen(0, '127.0.0.1')
  return { baseUrl: `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`, close: () => app.close() }
}

const onExpress: AdapterHarness = {
  async startApp({ logger, delivery, trustProxy, recordReads, deriveOperation }) {
    const app = await NestFactory.create<NestExpressApplication>(fixtureAppModule({ logger, delivery, recordReads, deriveOperation }), { logger: false })
    app.set('trust proxy', trustProxy)
    return serve(app)
  },
}

const onFastify: AdapterHarness = {
  async startApp({ logger, delivery, trustProxy, recordReads, deriveOperation }) {
    const app = await NestFactory.create(fixtureAppModule({ logger, delivery, recordReads, deriveOperation }), new FastifyAdapter({ trustProxy }), { logger: false })
    return serve(app)
  },
}

runAdapterContract('nestjs (platform-express)', onExpress)
runAdapterContract('nestjs (platform-fastify)', onFastify)
