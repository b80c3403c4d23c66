import type { Server } from 'node:http'
import { dirname, join, resolve } from 'node:path'
import type { AddressInfo } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import { createAuditLogger, type AuditAdminOptions, type AuditLogger, type AuditStore, type DeliveryMode } from '@auditkit/core'
import { createExpressDemoApp } from './express/app.js'
import { createHonoDemoApp } from './hono/app.js'
import { createNestDemoApp } from './nestjs/app.js'
import { loadDemoKeys, startDemoSecurity } from './security.js'
import { seedDemoAuditLog } from './seed.js'
import { installDemoSignIn } from './sign-in.js'
import { createDemoStore } from './store.js'

/** The frameworks the demo can run on (`DEMO_FRAMEWORK`). NestJS and Hono variants register here. */
export type DemoFramework = 'express' | 'nestjs' | 'hono'

export interface StartDemoOptions {
  /**
   * Which framework serves the API.
   * @default process.env.DEMO_FRAMEWORK ?? 'express'
   */
  framework?: string
  /**
   * Port; 0 picks a free one.
   * @default Number(process.env.PORT ?? 3000)
   */
  port?: number
  /**
   * Interface to listen on.
   * @default process.env.HOST ?? '127.0.0.1'
   */
  host?: string
  /**
   * SQLite file of the audit log.
   * @default see createDemoStore
   */
  dbPath?: string
  /**
   * Seed the audit log with realistic history when it is empty.
   * @default process.env.DEMO_SEED !== '0'
   */
  seed?: boolean
  /**
   * AuditKit delivery mode.
   * @default 'async'
   */
  delivery?: DeliveryMode
  /**
   * Folder of the demo's SIEM secret and signing keys (created on first start).
   * @default `keys` beside `dbPath` when given, else `<DEMO_DATA_DIR or ./data>/keys`
   */
  keysDir?: string
}

export interface RunningDemo {
  url: string
  framework: string
  store: AuditStore
  storeDescription: string
  logger: AuditLogger
  /** Events seeded at this start (0 when the log already had events or seeding is off). */
  seeded: number
  /** Stops the server, writes what is queued, closes the store. */
  close(): Promise<void>
}

type Listenable = { listen(port: number, host: string, ready: () => void): Server }
type ServerFactory = (options: {
  logger: AuditLogger
  delivery: DeliveryMode
  admin: Pick<AuditAdminOptions, 'siem' | 'integrity'>
}) => Listenable | Promise<Listenable>

const FRAMEWORKS: Record<string, ServerFactory> = {
  express: (options) => createExpressDemoApp(options),
  // Node's server around the Hono app, listening only when asked to.
  hono: (options) => createAdaptorServer({ fetch: createHonoDemoApp(options).fetch }) as Server,
  nestjs: async (options) => {
    const app = await createNestDemoApp(options)
    return {
      listen: (port, host, ready) => {
        // A failure (EADDRINUSE) reaches startDemo as the server's 'error' event; this promise only reports success.
        app.listen(port, host).then(ready, () => undefined)
        return app.getHttpServer() as Server
      },
    }
  },
}

/** Creates the store and logger, seeds an empty log, and serves the demo API. */
export async function startDemo(options: StartDemoOptions = {}): Promise<RunningDemo> {
  const framework = options.framework ?? process.env.DEMO_FRAMEWORK ?? 'express'
  const factory = FRAMEWORKS[framework]
  if (!factory) throw new Error(`DEMO_FRAMEWORK=${framework} is not one of: ${Object.keys(FRAMEWORKS).join(', ')}`)
  const { store, description } = createDemoStore(options.dbPath === undefined ? {} : { path: options.dbPath })
  await store.init()
  let seeded = 0
  if ((options.seed ?? process.env.DEMO_SEED !== '0') && (await store.listChains()).length === 0) {
    seeded = await seedDemoAuditLog({ store, events: Number(process.env.DEMO_SEED_EVENTS ?? 4000) })
  }
  const logger = createAuditLogger({ store })
  const security = await startDemoSecurity({ logger, store, keys: loadDemoKeys(options.keysDir ?? (options.dbPath === undefined ? undefined : join(dirname(resolve(options.dbPath)), 'keys'))) })
  const app = await factory({ logger, delivery: options.delivery ?? 'async', admin: security.admin })
  const host = options.host ?? process.env.HOST ?? '127.0.0.1'
  const server = await new Promise<Server>((resolve, reject) => {
    // Express 5 calls this callback on a listen error too (EADDRINUSE): only a listening server counts.
    const listening: Server = app.listen(options.port ?? Number(process.env.PORT ?? 3000), host, () => {
      if (listening.listening) resolve(listening)
    })
    listening.once('error', reject)
  }).catch(async (error: unknown) => {
    await logger.close()
    await security.close()
    await store.close()
    throw error
  })
  installDemoSignIn(server)
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    framework,
    store,
    storeDescription: description,
    logger,
    seeded,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
      // Queued events first: the checkpointer then signs the head they end at (closed before, it left them unsigned).
      await logger.close()
      await security.close()
      await store.close()
    },
  }
}

/**
 * What `npm run demo` prints when the demo cannot start: a sentence for the failures a newcomer meets (the port is
 * taken, or may not be used), the error itself otherwise.
 */
export function startFailureMessage(error: unknown): string {
  const { code, port, address } = (error ?? {}) as { code?: unknown; port?: unknown; address?: unknown }
  const where = `Port ${String(port)} on ${String(address)}`
  if (code === 'EADDRINUSE' && typeof port === 'number')
    return `${where} is already in use (another demo still running?): stop it, or start with another PORT, e.g. PORT=${port + 1} npm run demo`
  if ((code === 'EACCES' || code === 'EADDRNOTAVAIL') && typeof port === 'number')
    return `${where} cannot be used (${code}): set PORT to a free port above 1024, and HOST to an address of this machine`
  return error instanceof Error ? (error.stack ?? error.message) : String(error)
}
