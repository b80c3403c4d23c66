import { AuditKitError } from '../errors.js'
import { CHECKPOINT_ACTION, CHECKPOINT_ATTRIBUTES } from '../siem/otlp-encoding.js'
import type { SignedCheckpoint } from '../store/types.js'

/**
 * Reads checkpoints kept outside the database, to pass as `anchors` to `verifyChain`: a JSON object, a JSON array or
 * NDJSON lines, each a checkpoint as stored (`{ chainId, seq, ... }`) or as the SIEM received it: its attributes flat
 * (`{ "audit.chain.id": ..., "audit.seq": ..., "audit.checkpoint.signature": ... }`, e.g. from a SIEM search export),
 * or the log record holding them (`{ "eventName": "audit_checkpoint_signed", "attributes": { "audit.seq": ... } }`,
 * attributes also as OTLP JSON `[{ "key": ..., "value": { "stringValue" | "intValue": ... } }]`). Strict: every record
 * must be a checkpoint; another event is refused, not skipped, so that a file of the wrong records cannot pass as anchors.
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
  const record = attributesOf(value as Record<string, unknown>, position)
  const action = record['audit.action']
  if (action !== undefined && action !== CHECKPOINT_ACTION) throw notACheckpoint(action, position)
  const fromSiem = CHECKPOINT_ATTRIBUTES.signature in record
  const field = (name: keyof typeof CHECKPOINT_ATTRIBUTES): unknown => record[fromSiem ? CHECKPOINT_ATTRIBUTES[name] : name]
  const text = (name: keyof typeof CHECKPOINT_ATTRIBUTES): string => {
    const found = field(name)
    if (typeof found !== 'string') throw new AuditKitError('INVALID_OPTIONS', `Checkpoint ${position} has no string "${fromSiem ? CHECKPOINT_ATTRIBUTES[name] : name}"`)
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

/** The fields of a record: the record itself, or the attributes of a log record (object or OTLP JSON key/value list). */
function attributesOf(record: Record<string, unknown>, position: number): Record<string, unknown> {
  if ('resourceLogs' in record)
    throw new AuditKitError('INVALID_OPTIONS', `Checkpoint ${position} is a whole OTLP request (resourceLogs): give its audit_checkpoint_signed log records`)
  if (!('attributes' in record)) return record
  const eventName = record['eventName'] ?? record['event_name']
  // A SIEM may leave the event name out (or empty): the attributes' audit.action then says what the record is.
  if (eventName !== undefined && eventName !== '' && eventName !== CHECKPOINT_ACTION) throw notACheckpoint(eventName, position)
  const attributes = record['attributes']
  if (Array.isArray(attributes)) return Object.fromEntries(attributes.flatMap((entry) => otlpKeyValue(entry)))
  if (typeof attributes === 'object' && attributes !== null) return attributes as Record<string, unknown>
  throw new AuditKitError('INVALID_OPTIONS', `Checkpoint ${position} has "attributes" that are neither an object nor an OTLP key/value list`)
}

/** One OTLP JSON `KeyValue` (`{ key, value: { stringValue | intValue | ... } }`) as a [key, value] pair. */
function otlpKeyValue(entry: unknown): [string, unknown][] {
  if (typeof entry !== 'object' || entry === null) return []
  const { key, value } = entry as { key?: unknown; value?: unknown }
  if (typeof key !== 'string' || typeof value !== 'object' || value === null) return []
  const any = value as Record<string, unknown>
  // OTLP JSON writes int64 as a string (or a number): `toCheckpoint` reads seq with Number() either way.
  for (const name of ['stringValue', 'intValue', 'doubleValue', 'boolValue']) if (name in any) return [[key, any[name]]]
  return []
}

function notACheckpoint(name: unknown, position: number): AuditKitError {
  return new AuditKitError(
    'INVALID_OPTIONS',
    `Checkpoint ${position} is a ${JSON.stringify(name)} record, not an ${CHECKPOINT_ACTION} one: give only the checkpoint records`,
  )
}
