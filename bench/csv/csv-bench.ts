/**
 * CSV download throughput and memory: 1,000,000 rows exported through the admin route (`handler.fetch`, body
 * consumed), each export in a child process for its own peak RSS, against csv-stringify writing the same rows to
 * /dev/null in the same run. Targets: >= 100,000 rows/s and < 150 MB peak RSS.
 *
 *   pnpm --filter @auditkit/bench run bench:csv          (BENCH_EVENTS=100000 for a quick run)
 */
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { openDataset } from '../query/dataset.js'

const TARGET_ROWS_PER_SECOND = 100_000
const TARGET_RSS_MB = 150

interface Result {
  mode: string
  rows: number
  bytes: number
  seconds: number
  peakRssMB: number
}

// Build (or reuse) the cached dataset before timing anything.
const { store, size } = await openDataset()
await store.close()

const child = fileURLToPath(new URL('./export-child.ts', import.meta.url))
function run(mode: string): Result {
  const output = execFileSync(process.execPath, ['--conditions=source', '--import', 'tsx', child, mode], { encoding: 'utf8', env: process.env })
  return JSON.parse(output.trim().split('\n').pop() as string) as Result
}

console.log(`CSV export bench: ${size.toLocaleString('en')} events in SQLite, default columns, each export in its own process`)
const baseline = run('csv-stringify')
const ours = run('auditkit')
console.log('')
console.log(`${'exporter'.padEnd(34)} ${'rows'.padStart(10)} ${'MB'.padStart(8)} ${'seconds'.padStart(8)} ${'rows/s'.padStart(10)} ${'peak RSS MB'.padStart(12)}`)
for (const [name, r] of [
  ['csv-stringify -> /dev/null (baseline)', baseline],
  ['AuditKit GET /api/export.csv', ours],
] as const) {
  console.log(
    `${name.padEnd(34)} ${String(r.rows).padStart(10)} ${(r.bytes / 1e6).toFixed(1).padStart(8)} ${r.seconds.toFixed(2).padStart(8)} ${Math.round(r.rows / r.seconds).toLocaleString('en').padStart(10)} ${r.peakRssMB.toFixed(0).padStart(12)}`,
  )
}
const rate = ours.rows / ours.seconds
console.log('')
console.log(`throughput vs csv-stringify: ${(rate / (baseline.rows / baseline.seconds)).toFixed(2)}x; peak RSS vs csv-stringify: ${(ours.peakRssMB / baseline.peakRssMB).toFixed(2)}x`)
console.log(`target >= ${TARGET_ROWS_PER_SECOND.toLocaleString('en')} rows/s: ${rate >= TARGET_ROWS_PER_SECOND ? 'ok' : 'MISSED'}; target < ${TARGET_RSS_MB} MB RSS: ${ours.peakRssMB < TARGET_RSS_MB ? 'ok' : 'MISSED'}`)
if (ours.rows !== baseline.rows) console.log(`WARNING: row counts differ (${ours.rows} vs ${baseline.rows})`)
