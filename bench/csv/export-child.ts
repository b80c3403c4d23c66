/**
 * One export in its own process, so that its peak RSS is its own: `auditkit` downloads the CSV through the admin
 * route (handler.fetch, body written to /dev/null); `csv-stringify` writes the same cells of the same rows, read
 * through the same store stream, with csv-stringify. Prints one JSON line of figures.
 */
import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { AUDIT_COLUMNS, DEFAULT_COLUMN_IDS, createAuditAdmin, type AuditEvent } from '@auditkit/core'
import { stringify } from 'csv-stringify'
import { BENCH_TENANT, DATASET_DAYS, DATASET_END, openDataset } from '../query/dataset.js'

const mode = process.argv[2]
const from = new Date(DATASET_END - DATASET_DAYS * 86_400_000 - 86_400_000).toISOString()
const to = new Date(DATASET_END + 86_400_000).toISOString()
const { store } = await openDataset(() => {})
const sink = createWriteStream('/dev/null')
const startUsage = process.resourceUsage()
const startCpu = startUsage.userCPUTime + startUsage.systemCPUTime
const started = performance.now()
let bytes = 0
let rows = 0

if (mode === 'auditkit') {
  const admin = createAuditAdmin({
    store,
    uiDir: false,
    authorize: () => ({ tenantId: BENCH_TENANT, actor: { type: 'user', id: 'bench-admin' } }),
  })
  const response = await admin.fetch(new Request(`http://bench/api/export.csv?from=${from}&to=${to}`))
  if (response.status !== 200 || !response.body) throw new Error(`export answered ${response.status}: ${await response.text()}`)
  const reader = response.body.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    bytes += value.byteLength
    for (let at = value.indexOf(10); at !== -1; at = value.indexOf(10, at + 1)) rows++
    if (!sink.write(value)) await once(sink, 'drain')
  }
  rows -= 1 // the header
} else if (mode === 'csv-stringify') {
  const columns = DEFAULT_COLUMN_IDS.map((id) => AUDIT_COLUMNS.find((c) => c.id === id) as (typeof AUDIT_COLUMNS)[number])
  async function* records(): AsyncGenerator<string[]> {
    for await (const event of store.stream({ tenantId: BENCH_TENANT, from, to }) as AsyncIterable<AuditEvent>) {
      rows++
      yield columns.map((c) => c.value(event))
    }
  }
  const stringifier = stringify({ bom: true, header: true, columns: columns.map((c) => c.label.en), record_delimiter: 'windows' })
  stringifier.on('data', (chunk: Buffer) => void (bytes += chunk.length))
  await pipeline(Readable.from(records()), stringifier, sink)
} else {
  throw new Error(`unknown mode ${mode}`)
}
sink.end()
const seconds = (performance.now() - started) / 1000
await store.close()
const usage = process.resourceUsage()
// CPU time of the export (the process's own, minus startup) tells throughput apart from waiting for a busy machine's cores.
const cpuSeconds = (usage.userCPUTime + usage.systemCPUTime - startCpu) / 1e6
console.log(JSON.stringify({ mode, rows, bytes, seconds, cpuSeconds, peakRssMB: usage.maxRSS / 1024 }))
