import { runStoreContract } from '@auditkit/test-utils'
import { MongoClient } from 'mongodb'
import { afterAll, describe, it } from 'vitest'
import type { AuditStore } from '../src/index.js'
import { createMongoStore } from '../src/stores/mongodb/index.js'
import { MONGODB_URI, uniqueDatabase, warnSkipped } from './mongodb-server.js'

if (MONGODB_URI === '') {
  warnSkipped('AuditStore contract for the MongoDB store (test/mongodb-contract.test.ts)')
  describe.skip('AuditStore contract: mongodb — SKIPPED, set MONGODB_URI to run against a real server', () => {
    it('runs runStoreContract against MONGODB_URI', () => {})
  })
} else {
  const client = new MongoClient(MONGODB_URI)
  const databaseOf = new WeakMap<AuditStore, string>()
  const databases: string[] = []
  const secondInstances: AuditStore[] = []

  runStoreContract(
    'mongodb',
    async () => {
      const database = uniqueDatabase('contract')
      databases.push(database)
      const store = createMongoStore({ client, database })
      databaseOf.set(store, database)
      return store
    },
    {
      // A second app instance: its own client and connection pool on the same database.
      openSecondInstance: async (first) => {
        const database = databaseOf.get(first)
        if (database === undefined) throw new Error('unknown first instance')
        const second = createMongoStore({ uri: MONGODB_URI, database })
        secondInstances.push(second)
        await second.init()
        return second
      },
    },
  )

  afterAll(async () => {
    for (const store of secondInstances) await store.close()
    for (const database of databases) await client.db(database).dropDatabase()
    await client.close()
  })
}
