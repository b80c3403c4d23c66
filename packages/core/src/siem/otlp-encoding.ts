import type { AuditEvent, JsonValue } from '../event/schema.js'
import type { SignedCheckpoint } from '../store/types.js'

/**
 * OTLP logs encoded by hand: `ExportLogsServiceRequest` is a small, stable message, and a direct encoder keeps
 * the exporter free of the OpenTelemetry SDK (which merges `OTEL_EXPORTER_OTLP_*` into every exporter).
 * Field numbers follow opentelemetry-proto (collector/logs/v1, logs/v1, common/v1, resource/v1).
 */

/** An attribute value: OTLP `AnyValue`. Integers are sent as `int_value`, other numbers as `double_value`. */
export type AttributeValue = string | number | boolean | AttributeValue[] | { [key: string]: AttributeValue }

export interface OtlpLogRecord {
  /** Milliseconds since the epoch. */
  timeMs: number
  severityNumber: number
  severityText: string
  eventName: string
  body: string
  attributes: [string, AttributeValue][]
}

/** OTLP SeverityNumber values used by AuditKit. */
export const SEVERITY = { INFO: 9, WARN: 13 } as const

const WIRE_VARINT = 0
const WIRE_FIXED64 = 1
const WIRE_LENGTH = 2
const WIRE_FIXED32 = 5

/** Append-only protobuf writer. */
class ProtoWriter {
  private buffer = Buffer.allocUnsafe(4096)
  private length = 0

  private ensure(extra: number): void {
    if (this.length + extra <= this.buffer.length) return
    const next = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + extra))
    this.buffer.copy(next, 0, 0, this.length)
    this.buffer = next
  }

  private varint(value: number): void {
    this.ensure(10)
    this.length = this.varintAt(this.length, value)
  }

  /** Writes `value` (a non-negative safe integer) as a varint at `at`; answers the position after it. */
  private varintAt(at: number, value: number): number {
    let position = at
    let remaining = value
    while (remaining > 0x7f) {
      this.buffer[position++] = (remaining & 0x7f) | 0x80
      remaining = Math.floor(remaining / 128)
    }
    this.buffer[position++] = remaining
    return position
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire)
  }

  uint(field: number, value: number): this {
    this.tag(field, WIRE_VARINT)
    this.varint(value)
    return this
  }

  bool(field: number, value: boolean): this {
    return this.uint(field, value ? 1 : 0)
  }

  /** int64 as a varint; negative values take ten bytes (two's complement). */
  int64(field: number, value: number): this {
    this.tag(field, WIRE_VARINT)
    let big = BigInt.asUintN(64, BigInt(value))
    this.ensure(10)
    while (big > 0x7fn) {
      this.buffer[this.length++] = Number(big & 0x7fn) | 0x80
      big >>= 7n
    }
    this.buffer[this.length++] = Number(big)
    return this
  }

  fixed64(field: number, value: bigint): this {
    this.tag(field, WIRE_FIXED64)
    this.ensure(8)
    this.buffer.writeBigUInt64LE(value, this.length)
    this.length += 8
    return this
  }

  fixed32(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32)
    this.ensure(4)
    this.buffer.writeUInt32LE(value, this.length)
    this.length += 4
    return this
  }

  double(field: number, value: number): this {
    this.tag(field, WIRE_FIXED64)
    this.ensure(8)
    this.buffer.writeDoubleLE(value, this.length)
    this.length += 8
    return this
  }

  string(field: number, value: string): this {
    // Short ASCII strings (most attribute keys and values) are copied by hand: cheaper than a native call.
    if (value.length < 128) {
      let ascii = true
      for (let i = 0; i < value.length; i++) {
        if (value.charCodeAt(i) > 0x7f) {
          ascii = false
          break
        }
      }
      if (ascii) {
        this.tag(field, WIRE_LENGTH)
        this.varint(value.length)
        this.ensure(value.length)
        for (let i = 0; i < value.length; i++) this.buffer[this.length++] = value.charCodeAt(i)
        return this
      }
    }
    const bytes = Buffer.byteLength(value)
    this.tag(field, WIRE_LENGTH)
    this.varint(bytes)
    this.ensure(bytes)
    this.buffer.write(value, this.length, 'utf8')
    this.length += bytes
    return this
  }

  /**
   * A nested message written in place: one byte is reserved for its length (most attributes are shorter than 128
   * bytes) and the content is shifted only when the length needs more.
   */
  message(field: number, write: (child: ProtoWriter) => void): this {
    this.tag(field, WIRE_LENGTH)
    this.ensure(1)
    const lengthAt = this.length
    this.length += 1
    write(this)
    const size = this.length - lengthAt - 1
    if (size < 0x80) {
      this.buffer[lengthAt] = size
      return this
    }
    let lengthBytes = 1
    for (let rest = size; rest > 0x7f; rest = Math.floor(rest / 128)) lengthBytes++
    this.ensure(lengthBytes - 1)
    this.buffer.copyWithin(lengthAt + lengthBytes, lengthAt + 1, this.length)
    this.length += lengthBytes - 1
    this.varintAt(lengthAt, size)
    return this
  }

  finish(): Buffer {
    return this.buffer.subarray(0, this.length)
  }
}

// AnyValue: a oneof, so every member is written even when it holds a default (false, 0, '').
function writeAnyValue(writer: ProtoWriter, value: AttributeValue): void {
  if (typeof value === 'string') writer.string(1, value)
  else if (typeof value === 'boolean') writer.bool(2, value)
  else if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) writer.int64(3, value)
    else writer.double(4, value)
  } else if (Array.isArray(value)) {
    writer.message(5, (array) => {
      for (const item of value) array.message(1, (any) => writeAnyValue(any, item))
    })
  } else {
    writer.message(6, (list) => {
      for (const [key, item] of Object.entries(value)) writeKeyValue(list, 1, key, item)
    })
  }
}

function writeKeyValue(writer: ProtoWriter, field: number, key: string, value: AttributeValue): void {
  writer.message(field, (kv) => {
    kv.string(1, key)
    kv.message(2, (any) => writeAnyValue(any, value))
  })
}

export interface ExportRequestOptions {
  /** Resource attributes, e.g. `service.name`. */
  resource: [string, AttributeValue][]
  scopeName: string
  scopeVersion?: string
}

/** Encodes one `ExportLogsServiceRequest` holding `records` under one resource and scope. */
export function encodeExportLogsRequest(records: readonly OtlpLogRecord[], options: ExportRequestOptions): Buffer {
  const request = new ProtoWriter()
  request.message(1, (resourceLogs) => {
    resourceLogs.message(1, (resource) => {
      for (const [key, value] of options.resource) writeKeyValue(resource, 1, key, value)
    })
    resourceLogs.message(2, (scopeLogs) => {
      scopeLogs.message(1, (scope) => {
        scope.string(1, options.scopeName)
        if (options.scopeVersion) scope.string(2, options.scopeVersion)
      })
      for (const record of records) {
        scopeLogs.message(2, (log) => {
          const nanos = BigInt(record.timeMs) * 1_000_000n
          log.fixed64(1, nanos)
          log.uint(2, record.severityNumber)
          log.string(3, record.severityText)
          log.message(5, (body) => body.string(1, record.body))
          for (const [key, value] of record.attributes) writeKeyValue(log, 6, key, value)
          log.fixed64(11, nanos)
          log.string(12, record.eventName)
        })
      }
    })
  })
  return request.finish()
}

function jsonText(value: JsonValue | undefined): string | undefined {
  return value === undefined ? undefined : JSON.stringify(value)
}

/**
 * One audit event as one OTLP log record: event name = action, severity by outcome, `audit.*` attributes plus the
 * OpenTelemetry semantic conventions a SIEM indexes (`user.id`, `client.address`, `user_agent.original`, `http.*`).
 * `audit.id` is the event's UUIDv7: delivery is at-least-once, so a SIEM de-duplicates on it.
 */
export function eventToLogRecord(event: AuditEvent): OtlpLogRecord {
  const attributes: [string, AttributeValue][] = []
  // An empty string (record() accepts '' for names, email and request facts) is absent too: the SIEM should not hold
  // `client.address = ""`, which an "attribute exists" rule would match.
  const put = (key: string, value: AttributeValue | undefined): void => {
    if (value !== undefined && value !== '') attributes.push([key, value])
  }
  put('audit.id', event.id)
  put('audit.action', event.action)
  put('audit.occurred_at', event.occurredAt)
  put('audit.tenant.id', event.tenantId)
  put('audit.outcome', event.outcome)
  put('audit.actor.type', event.actor.type)
  put('audit.actor.id', event.actor.id)
  put('audit.actor.name', event.actor.name)
  put('audit.actor.email', event.actor.email)
  put('audit.resource.type', event.resource.type)
  put('audit.resource.id', event.resource.id)
  put('audit.resource.name', event.resource.name)
  if (event.targets && event.targets.length > 0) {
    put(
      'audit.targets',
      event.targets.map((target) => ({ type: target.type, ...(target.id ? { id: target.id } : {}), ...(target.name ? { name: target.name } : {}) })),
    )
  }
  const context = event.context
  put('audit.request.id', context?.requestId)
  put('audit.changes', jsonText(event.changes as JsonValue | undefined))
  put('audit.metadata', jsonText(event.metadata))
  put('audit.chain.id', event.chainId)
  put('audit.seq', event.seq)
  put('audit.prev_hash', event.prevHash)
  put('audit.hash', event.hash)
  // Semantic-convention names, so that SIEM dashboards built for OpenTelemetry find them.
  if (event.actor.type === 'user') put('user.id', event.actor.id)
  put('client.address', context?.ip)
  put('user_agent.original', context?.userAgent)
  put('http.request.method', context?.method)
  put('http.route', context?.route)
  put('url.path', context?.path)
  put('http.response.status_code', context?.status)
  const who = event.actor.name || event.actor.id
  const what = event.resource.id ? `${event.resource.type} ${event.resource.id}` : event.resource.type
  return {
    timeMs: Date.parse(event.occurredAt),
    severityNumber: event.outcome === 'success' ? SEVERITY.INFO : SEVERITY.WARN,
    severityText: event.outcome === 'success' ? 'INFO' : 'WARN',
    eventName: event.action,
    body: `${who} ${event.action} ${what} (${event.outcome})`,
    attributes,
  }
}

/** The action name of signed integrity checkpoints in the SIEM stream. */
export const CHECKPOINT_ACTION = 'audit_checkpoint_signed'

/** The attribute of each checkpoint field in the SIEM stream: written here, read back as anchors (`parseCheckpoints`). */
export const CHECKPOINT_ATTRIBUTES = {
  chainId: 'audit.chain.id',
  seq: 'audit.seq',
  hash: 'audit.hash',
  createdAt: 'audit.checkpoint.created_at',
  prevSignature: 'audit.checkpoint.prev_signature',
  signature: 'audit.checkpoint.signature',
  keyId: 'audit.checkpoint.key_id',
} as const satisfies Record<keyof SignedCheckpoint, string>

/** A signed integrity checkpoint as a log record, so the SIEM holds an independent copy of the chain's anchors. */
export function checkpointToLogRecord(checkpoint: SignedCheckpoint): OtlpLogRecord {
  return {
    timeMs: Date.parse(checkpoint.createdAt),
    severityNumber: SEVERITY.INFO,
    severityText: 'INFO',
    eventName: CHECKPOINT_ACTION,
    body: `integrity checkpoint of ${checkpoint.chainId} at seq ${checkpoint.seq}`,
    attributes: [
      ['audit.id', `checkpoint:${checkpoint.chainId}:${checkpoint.seq}`],
      ['audit.action', CHECKPOINT_ACTION],
      ['audit.tenant.id', checkpoint.chainId],
      [CHECKPOINT_ATTRIBUTES.chainId, checkpoint.chainId],
      [CHECKPOINT_ATTRIBUTES.seq, checkpoint.seq],
      [CHECKPOINT_ATTRIBUTES.hash, checkpoint.hash],
      [CHECKPOINT_ATTRIBUTES.createdAt, checkpoint.createdAt],
      [CHECKPOINT_ATTRIBUTES.prevSignature, checkpoint.prevSignature],
      [CHECKPOINT_ATTRIBUTES.signature, checkpoint.signature],
      [CHECKPOINT_ATTRIBUTES.keyId, checkpoint.keyId],
    ],
  }
}
