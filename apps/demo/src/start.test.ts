import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { verifyAll } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadDemoKeys } from './security.js'
import { startDemo, startFailureMessage, type DemoFramework } from './start.js'

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
    const failure: unknown = await startDemo({ framework, port, host: '127.0.0.1', dbPath, seed: false }).catch((error: unknown) => error)
    expect(failure).toMatchObject({ code: 'EADDRINUSE' })
    // `npm run demo` printed Node's stack trace; a newcomer needs the port and what to do.
    expect(startFailureMessage(failure)).toBe(
      `Port ${port} on 127.0.0.1 is already in use (another demo still running?): stop it, or start with another PORT, e.g. PORT=${port + 1} npm run demo`,
    )
    // The failed start closed its store: the same file opens again.
    const demo = await startDemo({ framework, port: 0, host: '127.0.0.1', dbPath, seed: false })
    await demo.close()
  })
})

describe('startDemo shutdown', () => {
  const dir = mkdtempSync(join(tmpdir(), 'auditkit-demo-close-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  // The checkpointer signs each chain's head when it closes: closed before the logger, it signed a head the last queued
  // events were not part of yet, and verification warned that they could be deleted unnoticed.
  it('writes the queued events first and then signs the head they end at', async () => {
    const dbPath = join(dir, 'audit.db')
    const demo = await startDemo({ framework: 'express', port: 0, host: '127.0.0.1', dbPath, seed: false })
    for (let n = 0; n < 3; n++) {
      const response = await fetch(`${demo.url}/workspaces/acme/projects`, {
        method: 'POST',
        headers: { authorization: 'Bearer demo-owner-token', 'content-type': 'application/json' },
        body: JSON.stringify({ name: `Close test ${n}` }),
      })
      expect(response.status).toBe(201)
    }
    // Still queued when the demo closes (as a request that just finished would be).
    for (let n = 0; n < 2; n++)
      void demo.logger.record({ tenantId: 'acme', actor: { type: 'system', id: 'nightly-backup' }, action: 'backup_created', resource: { type: 'backup' }, outcome: 'success' })
    await demo.close()

    const store = createSqliteStore({ path: dbPath, readonly: true })
    try {
      const result = await verifyAll({ source: store, publicKey: loadDemoKeys(join(dir, 'keys')).signingPublicKey })
      const acme = result.chains.find((chain) => chain.chainId === 'acme')
      expect(acme).toMatchObject({ ok: true, head: { seq: 5 }, checkpoints: { lastSeq: 5 } })
      expect(acme?.warnings).toEqual([])
    } finally {
      await store.close()
    }
  })
})
