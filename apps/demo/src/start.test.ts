import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDemo, type DemoFramework } from './start.js'

const FRAMEWORKS: DemoFramework[] = ['express', 'nestjs', 'hono']

describe('startDemo on a port already in use', () => {
  const dir = mkdtempSync(join(tmpdir(), 'auditkit-demo-port-'))
  let taken: Server
  let port: number

  beforeAll(async () => {
    taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    port = (taken.address() as AddressInfo).port
  })
  afterAll(async () => {
    await new Promise((resolve) => taken.close(resolve))
    rmSync(dir, { recursive: true, force: true })
  })

  // Express 5 calls the listen callback with the error too: the demo used to take that for "listening" and failed
  // with "Cannot destructure property 'port' of 'server.address(...)' as it is null".
  it.each(FRAMEWORKS)('%s: rejects with EADDRINUSE, and a later start with the same files works', async (framework) => {
    const dbPath = join(dir, `${framework}.db`)
    await expect(startDemo({ framework, port, host: '127.0.0.1', dbPath, seed: false })).rejects.toMatchObject({ code: 'EADDRINUSE' })
    // The failed start closed its store: the same file opens again.
    const demo = await startDemo({ framework, port: 0, host: '127.0.0.1', dbPath, seed: false })
    await demo.close()
  })
})
