import { MongoClient } from 'mongodb'
import { afterAll, describe, expect, it } from 'vitest'
import { createAuditLogger, verifyChain } from '../src/index.js'
import { createMongoStore } from '../src/stores/mongodb/index.js'
import { MONGODB_URI, uniqueDatabase, warnSkipped } from './mongodb-server.js'

if (MONGODB_URI === '') {
  warnSkipped('tamper detection of edited fields beside the hashed event, MongoDB store (test/mongodb-tamper.test.ts)')
  describe.skip('MongoDB tamper detection — SKIPPED, set MONGODB_URI to run against a real server', () => {
    it('reports a field edited beside the hashed event', () => {})
  })
} else {
  const client = new MongoClient(MONGODB_URI)
  const databases: string[] = []
  afterAll(async () => {
    for (const database of databases) await client.db(database).dropDatabase()
    await client.close()
  })

  describe('MongoDB store: a field edited beside the hashed event', () => {
    it.each([
      ['action', { action: 'project_updated' }],
      ['actor.id', { 'actor.id': 'user-9' }],
      ['occurredAtDate', { occurredAtDate: new Date('2001-01-01T00:00:00.000Z') }],
      ['tenantId', { tenantId: 'elsewhere' }],
    ] as const)('is reported as modified when %s is edited (filters read it, the hash does not cover it)', async (field, edit) => {
      const database = uniqueDatabase('tamper')
      databases.push(database)
      const store = createMongoStore({ client, database })
      const logger = createAuditLogger({ store })
      for (let n = 0; n < 5; n++)
        await logger.record(
          { tenantId: 'acme', actor: { type: 'user', id: `user-${n}` }, action: 'member_role_updated', resource: { type: 'member', id: `m-${n}` }, outcome: 'success' },
          { delivery: 'await' },
        )
      await logger.close()
      expect((await verifyChain({ source: store, chainId: 'acme' })).ok).toBe(true)
      await client.db(database).collection('auditkit_events').updateOne({ chainId: 'acme', seq: 3 }, { $set: edit })
      const result = await verifyChain({ source: store, chainId: 'acme' })
      expect(result.ok).toBe(false)
      expect(result.firstBreak).toMatchObject({ reason: 'modified', seq: 3 })
      expect(result.firstBreak?.message).toContain(field)
      await store.close()
    })
  })
}
