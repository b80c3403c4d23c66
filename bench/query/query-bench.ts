/**
 * Admin query latency over a 1,000,000-event SQLite file: p50/p95 of a filtered first page and of a page 100 deep
 * (limit 50), through the admin handler's `fetch` (parsing, cursor, JSON) and against the raw store, each compared
 * with the unfiltered first page measured in the same run. Target: p95 < 20 ms.
 *
 *   pnpm --filter @auditkit/bench run bench:query        (BENCH_EVENTS=100000 for a quick run; ITERATIONS=200)
 */
import { availableParallelism, loadavg } from 'node:os'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import Database from 'libsql'
import { createAuditAdmin, type AuditStore, type EventCursor, type EventQuery } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'
import { BENCH_TENANT, DATASET_END, openDataset } from './dataset.js'

const ITERATIONS = Number(process.env['ITERATIONS'] ?? 200)
const PAGE = 50
const DEPTH = 100
const TARGET_P95_MS = 20

interface Figures {
  p50: number
  p95: number
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number
}

async function measure(run: () => Promise<unknown>): Promise<Figures> {
  for (let i = 0; i < 10; i++) await run()
  const samples: number[] = []
  for (let i = 0; i < ITERATIONS; i++) {
    const start = performance.now()
    await run()
    samples.push(performance.now() - start)
  }
  samples.sort((a, b) => a - b)
  return { p50: percentile(samples, 50), p95: percentile(samples, 95) }
}

const { store, size, path } = await openDataset()
const now = new Date(DATASET_END)
const admin = createAuditAdmin({
  store,
  uiDir: false,
  clock: () => now,
  authorize: () => ({ tenantId: BENCH_TENANT, actor: { type: 'user', id: 'bench-admin' } }),
})

async function api(query: string): Promise<{ items: unknown[]; nextCursor: string | null }> {
  const response = await admin.fetch(new Request(`http://bench/api/events?${query}`))
  if (response.status !== 200) throw new Error(`${query}: ${response.status} ${await response.text()}`)
  return (await response.json()) as { items: unknown[]; nextCursor: string | null }
}

/** The cursor of page `depth` (1-based) for these filters, found by walking the pages once. */
async function cursorAt(query: string, depth: number): Promise<string> {
  let cursor: string | null = null
  for (let page = 1; page < depth; page++) {
    const result = await api(`${query}&limit=${PAGE}${cursor ? `&cursor=${cursor}` : ''}`)
    if (result.nextCursor === null) throw new Error(`${query}: only ${page} pages`)
    cursor = result.nextCursor
  }
  return cursor as string
}

async function rawCursorAt(filter: Omit<EventQuery, 'limit' | 'after'>, depth: number, raw: AuditStore): Promise<EventCursor> {
  let after: EventCursor | undefined
  for (let page = 1; page < depth; page++) {
    const result = await raw.query({ ...filter, limit: PAGE, ...(after ? { after } : {}) })
    if (!result.next) throw new Error('not enough pages')
    after = result.next
  }
  return after as EventCursor
}

const window = { from: new Date(DATASET_END - 365 * 86_400_000 + 1).toISOString(), to: new Date(DATASET_END + 1).toISOString() }
const cases: { name: string; query: string; filter: Partial<EventQuery> }[] = [
  { name: 'unfiltered (baseline)', query: '', filter: {} },
  { name: 'actor=user-17', query: 'actor=user-17', filter: { actor: 'user-17' } },
  { name: 'action=member_invited', query: 'action=member_invited', filter: { action: 'member_invited' } },
  { name: 'outcome=failure', query: 'outcome=failure', filter: { outcome: 'failure' } },
  { name: 'actorType=api_key&action=project_created', query: 'actorType=api_key&action=project_created', filter: { actorType: 'api_key', action: 'project_created' } },
  { name: 'q=user17@', query: 'q=user17%40', filter: { q: 'user17@' } },
]

console.log(`admin query bench: ${size.toLocaleString('en')} events in SQLite, page size ${PAGE}, ${ITERATIONS} iterations each, target p95 < ${TARGET_P95_MS} ms`)
const rows: { name: string; via: string; page: string; figures: Figures }[] = []
for (const c of cases) {
  const filter = { tenantId: BENCH_TENANT, ...window, ...c.filter }
  rows.push({ name: c.name, via: 'handler', page: 'first', figures: await measure(() => api(`${c.query}&limit=${PAGE}`)) })
  rows.push({ name: c.name, via: 'store', page: 'first', figures: await measure(() => store.query({ ...filter, limit: PAGE })) })
  let deep: string | null = null
  try {
    deep = await cursorAt(c.query, DEPTH)
  } catch {
    // Fewer than 100 pages match: no deep figure for this filter.
  }
  if (deep !== null) {
    const cursor = deep
    rows.push({ name: c.name, via: 'handler', page: `#${DEPTH}`, figures: await measure(() => api(`${c.query}&limit=${PAGE}&cursor=${cursor}`)) })
    const after = await rawCursorAt(filter, DEPTH, store)
    rows.push({ name: c.name, via: 'store', page: `#${DEPTH}`, figures: await measure(() => store.query({ ...filter, limit: PAGE, after })) })
  }
}

console.log(`machine: ${availableParallelism()} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (p95 includes waiting for a core when other processes compete)`)
const baseline = (via: string): Figures => rows.find((r) => r.name === 'unfiltered (baseline)' && r.via === via && r.page === 'first')?.figures as Figures
console.log('')
console.log(`${'filter'.padEnd(42)} ${'via'.padEnd(8)} ${'page'.padEnd(6)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'p95 vs baseline'.padStart(16)}  target`)
for (const row of rows) {
  const ratio = row.figures.p95 / baseline(row.via).p95
  const verdict = row.figures.p95 < TARGET_P95_MS ? 'ok' : 'MISSED'
  console.log(
    `${row.name.padEnd(42)} ${row.via.padEnd(8)} ${row.page.padEnd(6)} ${row.figures.p50.toFixed(2).padStart(8)} ${row.figures.p95.toFixed(2).padStart(8)} ${`${ratio.toFixed(2)}x`.padStart(16)}  ${verdict}`,
  )
}

// Not a target, for scale: the filter menus' facets over the whole default window (a GROUP BY over every matching row).
const facetIterations = Number(process.env['FACET_ITERATIONS'] ?? 5)
for (const [name, query] of [['facets, default window', ''], ['facets, last 30 days', `from=${new Date(DATASET_END - 30 * 86_400_000).toISOString()}`]] as const) {
  const samples: number[] = []
  for (let i = 0; i < facetIterations; i++) {
    const start = performance.now()
    const response = await admin.fetch(new Request(`http://bench/api/facets?${query}`))
    await response.arrayBuffer()
    samples.push(performance.now() - start)
  }
  samples.sort((a, b) => a - b)
  console.log(`${name.padEnd(42)} handler  median ${percentile(samples, 50).toFixed(1)} ms over ${facetIterations} runs (informational)`)
}

// Facets of a filtered window (no summary: counted from the matching events), against a baseline in the same run: the
// three statements (one per facet, each reading the window) the store ran before it read the matching events once.
const raw = new Database(path, { readonly: true })
for (const [name, filter, condition, params] of [
  ['facets, outcome=failure', { outcome: 'failure' as const }, 'outcome = ?', ['failure']],
  ['facets, actorType=api_key', { actorType: 'api_key' as const }, 'actor_type = ?', ['api_key']],
] as const) {
  const where = `FROM events INDEXED BY events_by_time WHERE tenant_id = ? AND occurred_at >= ? AND occurred_at < ? AND ${condition}`
  const args = [BENCH_TENANT, window.from, window.to, ...params]
  const perFacet = [
    `SELECT actor_type, actor_id, actor_name, max(occurred_at || id), count(*) AS n ${where} GROUP BY actor_type, actor_id ORDER BY n DESC`,
    `SELECT action, count(*) AS n ${where} GROUP BY action ORDER BY n DESC`,
    `SELECT resource_type, count(*) AS n ${where} GROUP BY resource_type ORDER BY n DESC`,
  ].map((sql) => raw.prepare(sql))
  const median = async (run: () => unknown): Promise<number> => {
    const samples: number[] = []
    for (let i = 0; i < facetIterations; i++) {
      const start = performance.now()
      await run()
      samples.push(performance.now() - start)
    }
    return percentile(samples.sort((a, b) => a - b), 50)
  }
  const before = await median(() => perFacet.map((statement) => statement.all(args)))
  const now = await median(() => store.facets({ tenantId: BENCH_TENANT, ...window, ...filter }))
  console.log(`${name.padEnd(42)} store    median ${now.toFixed(1)} ms vs ${before.toFixed(1)} ms one statement per facet (${(now / before).toFixed(2)}x)`)
}
raw.close()

// The app's event loop while the admin reads: the longest the loop was held during slow reads, with the store's reader
// thread (the default) against the same reads on the calling thread (`reader: 'inline'`), on the same file in this run.
const inlineStore = createSqliteStore({ path, reader: 'inline' })
await inlineStore.init()
const slowReads: [string, (reader: AuditStore) => Promise<unknown>][] = [
  ['facets, 2-character q', (reader) => reader.facets({ tenantId: BENCH_TENANT, ...window, q: 'zq' })],
  ['first page, 2-character q', (reader) => reader.query({ tenantId: BENCH_TENANT, ...window, q: 'zq', limit: PAGE })],
]
console.log('')
for (const [name, run] of slowReads) {
  const figures: { took: number; held: number }[] = []
  for (const reader of [store, inlineStore]) {
    await run(reader) // warm: the thread started, pages cached
    const delay = monitorEventLoopDelay({ resolution: 1 })
    delay.enable()
    // The sampling timer must be running before the read: a loop held from the start would go unseen.
    await new Promise((resolve) => setTimeout(resolve, 20))
    const start = performance.now()
    await run(reader)
    const took = performance.now() - start
    // A timer turn after the read, so that a loop held until its end is measured too.
    await new Promise((resolve) => setTimeout(resolve, 5))
    delay.disable()
    figures.push({ took, held: delay.max / 1e6 })
  }
  const [thread, inline] = figures as [{ took: number; held: number }, { took: number; held: number }]
  console.log(
    `${name.padEnd(42)} event loop held at most ${thread.held.toFixed(1)} ms on the reader thread vs ${inline.held.toFixed(1)} ms inline (${(thread.held / inline.held).toFixed(2)}x); the read took ${thread.took.toFixed(0)} vs ${inline.took.toFixed(0)} ms`,
  )
}
await inlineStore.close()
await store.close()
