import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import protobuf from 'protobufjs'

/** An attribute value as JavaScript: OTLP `AnyValue` with ints as numbers and bytes as base64. */
export type OtlpValue = string | number | boolean | null | OtlpValue[] | { [key: string]: OtlpValue }

/** One log record as the receiver decoded it. */
export interface ReceivedLogRecord {
  eventName: string
  /** Nanoseconds since the epoch, as a decimal string (fixed64). */
  timeUnixNano: string
  observedTimeUnixNano: string
  severityNumber: number
  severityText: string
  body: OtlpValue
  attributes: Record<string, OtlpValue>
  /** The attributes of the record's resource (e.g. `service.name`). */
  resource: Record<string, OtlpValue>
  scope: { name: string; version: string }
}

const PROTO_DIR = fileURLToPath(new URL('./proto', import.meta.url))

function loadRoot(): protobuf.Root {
  const root = new protobuf.Root()
  // Imports in the .proto files are relative to the proto root, as in opentelemetry-proto.
  root.resolvePath = (_origin, target) => join(PROTO_DIR, target)
  root.loadSync('opentelemetry/proto/collector/logs/v1/logs_service.proto', { keepCase: false })
  root.resolveAll()
  return root
}

const root = loadRoot()
const requestType = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest')
const responseType = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse')

interface AnyValueObject {
  stringValue?: string
  boolValue?: boolean
  intValue?: string
  doubleValue?: number
  arrayValue?: { values?: AnyValueObject[] }
  kvlistValue?: { values?: KeyValueObject[] }
  bytesValue?: string
}
interface KeyValueObject {
  key: string
  value?: AnyValueObject
}
interface LogRecordObject {
  timeUnixNano?: string
  observedTimeUnixNano?: string
  severityNumber?: number
  severityText?: string
  body?: AnyValueObject
  attributes?: KeyValueObject[]
  eventName?: string
}
interface RequestObject {
  resourceLogs?: {
    resource?: { attributes?: KeyValueObject[] }
    scopeLogs?: { scope?: { name?: string; version?: string }; logRecords?: LogRecordObject[] }[]
  }[]
}

function toValue(value: AnyValueObject | undefined): OtlpValue {
  if (value === undefined) return null
  if (value.stringValue !== undefined) return value.stringValue
  if (value.boolValue !== undefined) return value.boolValue
  if (value.intValue !== undefined) return Number(value.intValue)
  if (value.doubleValue !== undefined) return value.doubleValue
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(toValue)
  if (value.kvlistValue !== undefined) return toAttributes(value.kvlistValue.values)
  if (value.bytesValue !== undefined) return value.bytesValue
  return null
}

function toAttributes(list: KeyValueObject[] | undefined): Record<string, OtlpValue> {
  const out: Record<string, OtlpValue> = {}
  for (const { key, value } of list ?? []) out[key] = toValue(value)
  return out
}

/** Decodes an OTLP `ExportLogsServiceRequest` (protobuf bytes) into flat log records. Throws on malformed input. */
export function decodeExportLogsRequest(bytes: Uint8Array): ReceivedLogRecord[] {
  const message = requestType.decode(bytes)
  const object = requestType.toObject(message, { longs: String, enums: Number, bytes: String, defaults: false }) as RequestObject
  const records: ReceivedLogRecord[] = []
  for (const resourceLogs of object.resourceLogs ?? []) {
    const resource = toAttributes(resourceLogs.resource?.attributes)
    for (const scopeLogs of resourceLogs.scopeLogs ?? []) {
      const scope = { name: scopeLogs.scope?.name ?? '', version: scopeLogs.scope?.version ?? '' }
      for (const record of scopeLogs.logRecords ?? []) {
        records.push({
          eventName: record.eventName ?? '',
          timeUnixNano: record.timeUnixNano ?? '0',
          observedTimeUnixNano: record.observedTimeUnixNano ?? '0',
          severityNumber: record.severityNumber ?? 0,
          severityText: record.severityText ?? '',
          body: toValue(record.body),
          attributes: toAttributes(record.attributes),
          resource,
          scope,
        })
      }
    }
  }
  return records
}

/** An empty `ExportLogsServiceResponse` (full success), encoded. */
export function encodeExportLogsResponse(): Uint8Array {
  return responseType.encode(responseType.create({})).finish()
}
