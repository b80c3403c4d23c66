import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll } from 'vitest'
import { runStoreContract } from '@auditkit/test-utils'
import type { AuditStore } from '../../store/types.js'
import { createSqliteStore } from './sqlite-store.js'

const dir = mkdtempSync(join(tmpdir(), 'auditkit-sqlite-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const paths = new WeakMap<AuditStore, string>()
let created = 0

runStoreContract(
  'sqlite',
  async () => {
    const path = join(dir, `contract-${++created}.db`)
    const store = createSqliteStore({ path })
    paths.set(store, path)
    return store
  },
  {
    openSecondInstance: async (store) => {
      const path = paths.get(store)
      if (path === undefined) throw new Error('not a store of this test')
      return createSqliteStore({ path })
    },
  },
)
