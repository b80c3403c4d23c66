import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { afterAll, describe, expect, it, vi } from 'vitest'
import type { AuditEventInput } from '../event/schema.js'
import { createSqliteStore } from '../stores/sqlite/sqlite-store.js'
import { createAuditLogger } from './audit-logger.js'

const dir = mkdtempSync(join(tmpdir(), 'auditkit-group-commit-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const event = (n: number): AuditEventInput => ({
  tenantId: 'tenant-1',
  actor: { type: 'user', id: 'user-1' },
  action: 'project_updated',
  resource: { type: 'project', id: `project-${n}` },
  outcome: 'success',
})

/**
 * Records one event per event-loop turn, like requests finishing one after another on a busy server. The logger's
 * clock (performance.now and setTimeout) is a fake one that moves `msPerTurn` a turn: the batches then depend on the
 * logger alone, not on how fast this machine runs the turns.
 */
async function trickle(groupCommitMs: number, count: number, msPerTurn = 1): Promise<{ batches: number[]; written: number }> {
  // Inline: a write then ends within the turn it starts in, so the batches show the logger's timing alone (on the
  // writer thread, events also gather while a write is in flight).
  const store = createSqliteStore({ path: join(dir, `gc-${groupCommitMs}.db`), writer: 'inline' })
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] })
  try {
    vi.advanceTimersByTime(1000) // a process that has been up a while: the first event finds no recent write
    const logger = createAuditLogger({ store, groupCommitMs })
    const batches: number[] = []
    logger.onAppend((events) => batches.push(events.length))
    for (let i = 0; i < count; i++) {
      void logger.record(event(i))
      await nextTurn()
      vi.advanceTimersByTime(msPerTurn)
    }
    await logger.close()
    await store.close()
    return { batches, written: batches.reduce((a, b) => a + b, 0) }
  } finally {
    vi.useRealTimers()
  }
}

describe('group commit', () => {
  it('writes a lone event at once, then lets events arriving within groupCommitMs share one transaction', async () => {
    const spaced = await trickle(50, 200)
    expect(spaced.written).toBe(200)
    expect(spaced.batches[0]).toBe(1)
    // 200 turns 1 ms apart: they share a handful of writes (about one per 50 ms) instead of 200.
    expect(spaced.batches.length).toBeLessThan(20)
  })

  it('writes every turn when groupCommitMs is 0', async () => {
    const eager = await trickle(0, 50)
    expect(eager.written).toBe(50)
    expect(eager.batches.length).toBeGreaterThan(25)
  })
})
