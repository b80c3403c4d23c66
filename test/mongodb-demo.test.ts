import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { startDemo } from '../apps/demo/src/start.js'
import { createDemoStore } from '../apps/demo/src/store.js'

const MONGODB_URI = process.env.MONGODB_URI ?? ''

/** The little of the driver's client this test uses. */
interface MongoClientLike {
  db(name: string): { collection(name: string): { countDocuments(): Promise<number> }; dropDatabase(): Promise<unknown> }
  close(): Promise<void>
}

describe('demo store switch', () => {
  const dir = mkdtempSync(join(tmpdir(), 'auditkit-demo-store-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('uses MongoDB when a MongoDB URI is set, without printing its credentials', async () => {
    const { store, description } = createDemoStore({ mongodbUri: 'mongodb://auditor:s3cret@127.0.0.1:1/?directConnection=true', mongodbDatabase: 'demo_db' })
    expect(store.kind).toBe('mongodb')
    expect(description).toBe('MongoDB mongodb://***@127.0.0.1:1/?directConnection=true, database demo_db')
    await store.close()
  })

  it('uses the SQLite file when no URI is set, or when a file is given explicitly', async () => {
    for (const options of [{ mongodbUri: '', path: join(dir, 'a.db') }, { mongodbUri: 'mongodb://127.0.0.1:1', path: join(dir, 'b.db') }]) {
      const { store, description } = createDemoStore(options)
      expect(store.kind).toBe('sqlite')
      expect(description).toBe(`SQLite file ${options.path}`)
      await store.close()
    }
  })
})

if (MONGODB_URI === '') {
  console.warn(
    [
      '!'.repeat(100),
      '!! SKIPPED: the demo on MongoDB (test/mongodb-demo.test.ts) — MONGODB_URI is not set.',
      '!! Run it with: MONGODB_URI="mongodb://127.0.0.1:27017/?directConnection=true" pnpm exec vitest run --project e2e test/mongodb-demo',
      '!'.repeat(100),
    ].join('\n'),
  )
  describe.skip('demo on MongoDB — SKIPPED, set MONGODB_URI to run against a real server', () => {
    it('starts and records a request into MongoDB', () => {})
  })
} else {
  describe('demo on MongoDB', () => {
    it('starts on MONGODB_URI and records a request there', async () => {
      const database = `auditkit_test_demo_${process.pid}_${Date.now().toString(36)}`
      process.env.MONGODB_DATABASE = database
      const demo = await startDemo({ framework: 'express', port: 0, host: '127.0.0.1', seed: false })
      // The driver is the demo's dependency (the root test folder has none of its own).
      const driver = createRequire(new URL('../apps/demo/package.json', import.meta.url)).resolve('mongodb')
      const { MongoClient } = (await import(pathToFileURL(driver).href)) as { MongoClient: new (uri: string) => MongoClientLike }
      const client = new MongoClient(MONGODB_URI)
      try {
        expect(demo.store.kind).toBe('mongodb')
        expect(demo.storeDescription).toContain(`database ${database}`)
        const res = await fetch(`${demo.url}/workspaces/acme/projects`, {
          method: 'POST',
          headers: { authorization: 'Bearer demo-owner-token', 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'Mongo Apollo' }),
        })
        expect(res.status).toBe(201)
        await demo.logger.flush()
        const page = await demo.store.query({ tenantId: 'acme', from: '2000-01-01T00:00:00.000Z', to: '2999-01-01T00:00:00.000Z', limit: 10 })
        expect(page.items[0]).toMatchObject({ action: 'project_created', resource: { type: 'project', name: 'Mongo Apollo' }, seq: 1 })
        expect(await client.db(database).collection('auditkit_events').countDocuments()).toBe(1)
      } finally {
        await demo.close()
        await client.db(database).dropDatabase()
        await client.close()
        delete process.env.MONGODB_DATABASE
      }
    })
  })
}
