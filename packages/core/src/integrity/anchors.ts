import { AuditKitError } from '../errors.js'
import type { SignedCheckpoint } from '../store/types.js'

/** OTLP attribute names of a checkpoint record in the SIEM stream (see `siem/otlp-encoding`). */
const SIEM_ATTRIBUTES = {
  chainId: 'audit.chain.id',
  seq: 'audit.seq',
  hash: 'audit.hash',
  createdAt: 'audit.checkpoint.created_at',
  prevSignature: 'audit.checkpoint.prev_signature',
  signature: 'audit.checkpoint.signature',
  keyId: 'audit.checkpoint.key_id',
} as const

/**
 * Reads checkpoints kept outside the database, to pass as `anchors` to `verifyChain`: a JSON object, a JSON array or
 * NDJSON lines, each a checkpoint as stored (`{ chainId, seq, ... }`) or as the SIEM received it
 * (`{ "audit.chain.id": ..., "audit.seq": ..., "audit.checkpoint.signature": ... }`, e.g. from a SIEM search export).
 */
export function parseCheckpoints(text: string): SignedCheckpoint[] {
  const trimmed = text.trim()
  if (trimmed === '') return []
  let values: unknown[]
  try {
    const whole: unknown = JSON.parse(trimmed)
    values = Array.isArray(whole) ? whole : [whole]
  } catch {
    values = trimmed
      .split(/\r?\n/)
      .filter((line) => line.trim() !== '')
      .map((line, i) => {
        try {
          return JSON.parse(line) as unknown
        } catch {
          throw new AuditKitError('INVALID_OPTIONS', `Checkpoint line ${i + 1} is not JSON`)
        }
      })
  }
  return values.map((value, i) => toCheckpoint(value, i + 1))
}

function toCheckpoint(value: unknown, position: number): SignedCheckpoint {
  if (typeof value !== 'object' || value === null) throw new AuditKitError('INVALID_OPTIONS', `Checkpoint ${position} is not an object`)
  const record = value as Record<string, unknown>
  const fromSiem = SIEM_ATTRIBUTES.signature in record
  const field = (name: keyof typeof SIEM_ATTRIBUTES): unknown => record[fromSiem ? SIEM_ATTRIBUTES[name] : name]
  const text = (name: keyof typeof SIEM_ATTRIBUTES): string => {
    const found = field(name)
    if (typeof found !== 'string') throw new AuditKitError('INVALID_OPTIONS', `Checkpoint ${position} has no string "${fromSiem ? SIEM_ATTRIBUTES[name] : name}"`)
    return found
  }
  const seq = Number(field('seq'))
  if (!Number.isInteger(seq) || seq < 1) throw new AuditKitError('INVALID_OPTIONS', `Checkpoint ${position} has no positive integer seq`)
  return {
    chainId: text('chainId'),
    seq,
    hash: text('hash'),
    createdAt: text('createdAt'),
    prevSignature: text('prevSignature'),
    signature: text('signature'),
    keyId: text('keyId'),
  }
}
