import { mkdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { AuditStore } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'

export interface DemoStoreOptions {
  /**
   * SQLite file. Relative paths resolve against the directory the demo was started from.
   * @default `<DEMO_DATA_DIR or ./data>/demo-audit.db`
   */
  path?: string
}

/**
 * The one place the demo creates its audit store: a SQLite file under ./data (the folder is created).
 * A MongoDB switch (`MONGODB_URI`) belongs here too.
 */
export function createDemoStore(options: DemoStoreOptions = {}): { store: AuditStore; description: string } {
  // `pnpm --filter` runs scripts inside apps/demo; INIT_CWD is where the user typed the command (the repo root).
  const startDir = process.env.INIT_CWD ?? process.cwd()
  const path = resolve(startDir, options.path ?? process.env.DEMO_DB_PATH ?? join(process.env.DEMO_DATA_DIR ?? 'data', 'demo-audit.db'))
  mkdirSync(dirname(path), { recursive: true })
  return { store: createSqliteStore({ path }), description: `SQLite file ${path}` }
}
