import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createSealer, uuidv7, type AuditStore, type UnsealedEvent } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'
// Not public API: only to key the cache by schema, so that an index or schema version change rebuilds the dataset.
import { SCHEMA_SQL, SCHEMA_VERSION, SEARCH_INDEX_SQL } from '../../packages/core/src/stores/sqlite/schema.js'

/** The tenant the 1M events belong to (the worst case: one big tenant), and a small neighbour. */
export const BENCH_TENANT = 'acme'
export const OTHER_TENANT = 'globex'
/** Events are spread over the 300 days before this instant. */
export const DATASET_END = Date.parse('2026-11-01T00:00:00.000Z')
export const DATASET_DAYS = 300
const ACTIONS = [
  'project_created', 'project_updated', 'project_deleted', 'member_invited', 'member_removed', 'member_role_updated',
  'api_key_created', 'api_key_revoked', 'content_created', 'content_updated', 'content_deleted', 'content_published',
  'media_uploaded', 'media_deleted', 'webhook_created', 'webhook_updated', 'role_created', 'role_updated',
  'review_requested', 'review_approved',
]

export function datasetSize(): number {
  return Number(process.env['BENCH_EVENTS'] ?? 1_000_000)
}

export function datasetPath(size = datasetSize()): string {
  const here = dirname(fileURLToPath(import.meta.url))
  const schema = createHash('sha256').update(`${SCHEMA_VERSION}\n${SCHEMA_SQL}${SEARCH_INDEX_SQL}`).digest('hex').slice(0, 8)
  return join(here, '..', '.data', `admin-${size}-${schema}.db`)
}

/** A deterministic, well-mixed spread of `(i, salt)` over `[0, n)` (murmur3's finaliser), so every run builds the same data. */
function pick(i: number, salt: number, n: number): number {
  let h = (i ^ Math.imul(salt, 0x9e3779b1)) >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  h = (h ^ (h >>> 16)) >>> 0
  return Math.floor((h / 4294967296) * n)
}

function event(i: number, size: number): UnsealedEvent {
  const tenantId = i % 100 === 99 ? OTHER_TENANT : BENCH_TENANT
  const ms = DATASET_END - DATASET_DAYS * 86_400_000 + Math.floor((i / size) * DATASET_DAYS * 86_400_000)
  const action = ACTIONS[pick(i, 1, ACTIONS.length)] as string
  const resourceType = action.slice(0, action.lastIndexOf('_'))
  const user = pick(i, 2, 1000)
  return {
    id: uuidv7(ms),
    occurredAt: new Date(ms).toISOString(),
    tenantId,
    chainId: tenantId,
    actor: i % 20 === 0 ? { type: 'api_key', id: 'key-ci', name: 'CI deploy key' } : { type: 'user', id: `user-${user}`, name: `User ${user}`, email: `user${user}@example.com` },
    action,
    resource: { type: resourceType, id: `${resourceType}-${pick(i, 3, 5000)}`, name: `${resourceType} ${i % 977}` },
    outcome: pick(i, 4, 100) < 5 ? 'failure' : 'success',
    context: { ip: `203.0.113.${user % 250}`, method: 'POST', path: `/${resourceType}s`, status: 201, userAgent: 'Mozilla/5.0 (bench)' },
    metadata: { batch: i % 10 },
  }
}

/**
 * Opens the cached dataset under `bench/.data/`, building it first if needed: the store's own `append` in big
 * batches (so rows, indexes and hashes are exactly what production writes). Built into a temp file and renamed,
 * so an interrupted build never leaves a half-filled cache.
 */
export async function openDataset(log: (line: string) => void = console.log): Promise<{ store: AuditStore; path: string; size: number }> {
  const size = datasetSize()
  const path = datasetPath(size)
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true })
    const building = `${path}.building`
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${building}${suffix}`, { force: true })
    // With the trigram search index (option `searchIndex`), so that `q` is measured as it runs with it.
    const store = createSqliteStore({ path: building, searchIndex: true })
    await store.init()
    const seal = createSealer()
    const started = performance.now()
    const batch = 20_000
    for (let i = 0; i < size; i += batch) {
      const events: UnsealedEvent[] = []
      for (let j = i; j < Math.min(size, i + batch); j++) events.push(event(j, size))
      await store.append(events, seal)
      if ((i / batch) % 10 === 0) log(`  building dataset: ${i + events.length} / ${size} events`)
    }
    await store.close()
    renameSync(building, path)
    for (const suffix of ['-wal', '-shm']) rmSync(`${building}${suffix}`, { force: true })
    log(`  built ${size} events in ${((performance.now() - started) / 1000).toFixed(1)} s -> ${path}`)
  }
  const store = createSqliteStore({ path })
  await store.init()
  return { store, path, size }
}
