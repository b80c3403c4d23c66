/**
 * CSV download throughput and memory: 1,000,000 rows exported through the admin route (`handler.fetch`, body
 * consumed), each export in a child process for its own peak RSS, against csv-stringify writing the same rows to
 * /dev/null in the same run. Targets: >= 100,000 rows/s and < 150 MB peak RSS.
 *
 *   pnpm --filter @auditkit/bench run bench:csv          (BENCH_EVENTS=100000 for a quick run)
 */
import { execFileSync } from 'node:child_process'
import { availableParallelism, loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'tsup'
import { datasetPath, openDataset } from '../query/dataset.js'

const TARGET_ROWS_PER_SECOND = 100_000
const TARGET_RSS_MB = 150

interface Result {
  mode: string
  rows: number
  bytes: number
  seconds: number
  cpuSeconds: number
  peakRssMB: number
}

// Build (or reuse) the cached dataset before timing anything.
const { store, size } = await openDataset()
await store.close()

// The exports run as users run AuditKit: built JavaScript on plain Node. A TypeScript loader in the child would add
// about 55 MB of its own to the RSS being measured.
const outDir = join(dirname(datasetPath()), 'build')
await build({
  entry: { 'export-child': fileURLToPath(new URL('./export-child.ts', import.meta.url)) },
  outDir,
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  noExternal: [/^@auditkit\//],
  external: ['libsql', 'csv-stringify', 'mongodb'],
  dts: false,
  sourcemap: false,
  silent: true,
  clean: true,
  esbuildOptions(options) {
    options.conditions = ['source']
  },
})
const child = join(outDir, 'export-child.js')
function run(mode: string): Result {
  const output = execFileSync(process.execPath, [child, mode], { encoding: 'utf8', env: process.env })
  return JSON.parse(output.trim().split('\n').pop() as string) as Result
}

console.log(`CSV export bench: ${size.toLocaleString('en')} events in SQLite, default columns, each export in its own Node process (bundled JS)`)
const baseline = run('csv-stringify')
const ours = run('auditkit')
console.log('')
console.log(`${'exporter'.padEnd(38)} ${'rows'.padStart(9)} ${'MB'.padStart(7)} ${'wall s'.padStart(7)} ${'rows/s'.padStart(9)} ${'CPU s'.padStart(7)} ${'rows/CPU-s'.padStart(11)} ${'peak RSS MB'.padStart(12)}`)
for (const [name, r] of [
  ['csv-stringify -> /dev/null (baseline)', baseline],
  ['AuditKit GET /api/export.csv', ours],
] as const) {
  console.log(
    `${name.padEnd(38)} ${String(r.rows).padStart(9)} ${(r.bytes / 1e6).toFixed(1).padStart(7)} ${r.seconds.toFixed(2).padStart(7)} ${Math.round(r.rows / r.seconds).toLocaleString('en').padStart(9)} ${r.cpuSeconds.toFixed(2).padStart(7)} ${Math.round(r.rows / r.cpuSeconds).toLocaleString('en').padStart(11)} ${r.peakRssMB.toFixed(0).padStart(12)}`,
  )
}
const rate = ours.rows / ours.seconds
console.log('')
console.log(`machine: ${availableParallelism()} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (wall rates fall when other processes compete for the cores; rows per CPU-second do not)`)
console.log(`throughput vs csv-stringify: ${(rate / (baseline.rows / baseline.seconds)).toFixed(2)}x; peak RSS vs csv-stringify: ${(ours.peakRssMB / baseline.peakRssMB).toFixed(2)}x`)
const cpuRate = ours.rows / ours.cpuSeconds
console.log(
  `target >= ${TARGET_ROWS_PER_SECOND.toLocaleString('en')} rows/s: wall ${rate >= TARGET_ROWS_PER_SECOND ? 'ok' : 'MISSED'}, per CPU-second ${cpuRate >= TARGET_ROWS_PER_SECOND ? 'ok' : 'MISSED'}; target < ${TARGET_RSS_MB} MB RSS: ${ours.peakRssMB < TARGET_RSS_MB ? 'ok' : 'MISSED'}`,
)
if (ours.rows !== baseline.rows) console.log(`WARNING: row counts differ (${ours.rows} vs ${baseline.rows})`)
