// SIGKILL of a process in the middle of writing batches to a real SQLite file, then a restart on the same file: every
// event `await` delivery reported durable is there, every chain verifies, and a new logger continues the chains.
import { spawn } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { createAuditLogger, verifyAll } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'

const dir = mkdtempSync(join(tmpdir(), 'auditkit-durability-kill-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const { privateKey, publicKey } = generateKeyPairSync('ed25519')
const keyFile = join(dir, 'signing.pem')
writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 })

/** Starts a writer, kills it with SIGKILL once it reported `durable` events, and returns what it reported. */
function writeUntilKilled(path: string, writer: string, name: string, durable: number): Promise<{ tenant: string; id: string }[]> {
  const script = fileURLToPath(new URL('./durability-kill-worker.ts', import.meta.url))
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', script, path, writer, name, keyFile], {
    cwd: fileURLToPath(new URL('.', import.meta.url)),
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let output = ''
  const reported = (): { tenant: string; id: string }[] =>
    output
      .split('\n')
      .slice(0, -1) // a line cut by the kill is not a report
      .map((line) => {
        const [tenant = '', id = ''] = line.split(' ')
        return { tenant, id }
      })
  return new Promise((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      output += text
      if (reported().length >= durable && child.exitCode === null && !child.killed) child.kill('SIGKILL')
    })
    child.on('error', reject)
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve(reported()) : reject(new Error(`writer exited with ${code ?? signal} before the kill`))))
  })
}

describe.each(['thread', 'inline'] as const)('a writer process killed mid-batch (writer: %s)', (writer) => {
  it('keeps every event reported durable, verifiable chains, and lets a restarted logger append', async () => {
    const path = join(dir, `killed-${writer}.db`)
    // Two processes on the file at once, each killed at its own moment (the other one writing on), then one more alone.
    const together = await Promise.all([writeUntilKilled(path, writer, 'first', 1000), writeUntilKilled(path, writer, 'second', 2000)])
    const reported = [...together.flat(), ...(await writeUntilKilled(path, writer, 'third', 1000))]
    expect(reported.length).toBeGreaterThanOrEqual(4000)

    const store = createSqliteStore({ path, writer })
    const missing: string[] = []
    for (const { tenant, id } of reported) if (!(await store.get(tenant, id))) missing.push(id)
    expect(missing).toEqual([])
    // Chains and the checkpoints signed while the processes were killed, signatures included.
    const verified = await verifyAll({ source: store, publicKey })
    expect(verified.chains.map((chain) => [chain.chainId, chain.ok, chain.firstBreak])).toEqual(
      ['tenant-0', 'tenant-1', 'tenant-2'].map((chainId) => [chainId, true, null]),
    )
    for (const chain of verified.chains) expect(chain.checkpoints.count).toBeGreaterThan(3)
    const heads = new Map(verified.chains.map((chain) => [chain.chainId, chain.head?.seq ?? 0]))

    const logger = createAuditLogger({ store })
    const next = await logger.record(
      { tenantId: 'tenant-0', actor: { type: 'user', id: 'restarted' }, action: 'item_created', resource: { type: 'item', id: 'after' }, outcome: 'success' },
      { delivery: 'await' },
    )
    expect(next.event?.seq).toBe((heads.get('tenant-0') ?? 0) + 1)
    await logger.close()
    expect((await verifyAll({ source: store, publicKey })).ok).toBe(true)
    await store.close()
  })
})
