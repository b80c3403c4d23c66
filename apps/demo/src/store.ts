import { mkdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { AuditStore } from '@auditkit/core'
import { createMongoStore } from '@auditkit/core/mongodb'
import { createSqliteStore } from '@auditkit/core/sqlite'

export interface DemoStoreOptions {
  /**
   * SQLite file. Relative paths resolve against the directory the demo was started from.
   * Given explicitly, it wins over `MONGODB_URI` (tests pass a temporary file).
   * @default `<DEMO_DATA_DIR or ./data>/demo-audit.db`
   */
  path?: string
  /**
   * MongoDB connection string: when set (and no `path` is given), the demo keeps its audit log in MongoDB.
   * @default process.env.MONGODB_URI
   */
  mongodbUri?: string
  /**
   * MongoDB database of the demo's audit log.
   * @default process.env.MONGODB_DATABASE ?? 'auditkit_demo'
   */
  mongodbDatabase?: string
}

/**
 * The one place the demo creates its audit store: MongoDB when `MONGODB_URI` is set, otherwise a SQLite file
 * under ./data (the folder is created).
 */
export function createDemoStore(options: DemoStoreOptions = {}): { store: AuditStore; description: string } {
  const uri = options.mongodbUri ?? process.env.MONGODB_URI
  if (options.path === undefined && uri !== undefined && uri !== '') {
    const database = options.mongodbDatabase ?? process.env.MONGODB_DATABASE ?? 'auditkit_demo'
    // Never print credentials from the connection string.
    const shown = uri.replace(/\/\/[^@/]*@/, '//***@')
    return { store: createMongoStore({ uri, database }), description: `MongoDB ${shown}, database ${database}` }
  }
  // `pnpm --filter` runs scripts inside apps/demo; INIT_CWD is where the user typed the command (the repo root).
  const startDir = process.env.INIT_CWD ?? process.cwd()
  const path = resolve(startDir, options.path ?? process.env.DEMO_DB_PATH ?? join(process.env.DEMO_DATA_DIR ?? 'data', 'demo-audit.db'))
  mkdirSync(dirname(path), { recursive: true })
  return { store: createSqliteStore({ path }), description: `SQLite file ${path}` }
}
