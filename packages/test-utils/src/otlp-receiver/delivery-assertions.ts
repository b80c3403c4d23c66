import { expect } from 'vitest'
import type { ReceivedLogRecord } from './otlp-decode.js'

/**
 * At-least-once, in-order delivery of one chain: every `audit.seq` 1..n arrived, first deliveries in order, and any
 * duplicate is an identical copy of its first delivery (same `audit.id`, same attributes). Answers the duplicates.
 */
export function expectCompleteDelivery(records: readonly ReceivedLogRecord[], n: number): number {
  const byId = new Map<string, ReceivedLogRecord>()
  const firstSeen: number[] = []
  let duplicates = 0
  for (const record of records) {
    if (record.eventName === 'audit_checkpoint_signed' || record.eventName === 'test_connection') continue
    const id = String(record.attributes['audit.id'])
    const previous = byId.get(id)
    if (previous) {
      duplicates++
      expect(record.attributes).toEqual(previous.attributes)
    } else {
      byId.set(id, record)
      firstSeen.push(Number(record.attributes['audit.seq']))
    }
  }
  expect(firstSeen).toEqual(Array.from({ length: n }, (_, i) => i + 1))
  return duplicates
}
