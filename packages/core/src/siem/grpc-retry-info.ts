/**
 * Reads the server's requested delay from a gRPC error: OTLP collectors throttle with `google.rpc.RetryInfo` in
 * the `grpc-status-details-bin` trailer (a `google.rpc.Status` whose `details` hold `Any` messages). A small reader,
 * since only these three messages are needed: Status{details=3 Any}, Any{type_url=1, value=2},
 * RetryInfo{retry_delay=1 Duration{seconds=1, nanos=2}}.
 */

const RETRY_INFO_TYPE = 'type.googleapis.com/google.rpc.RetryInfo'

interface Field {
  number: number
  varint?: number
  bytes?: Buffer
}

/** The fields of one message; throws on malformed input (the caller treats that as "no delay given"). */
function fields(buffer: Buffer): Field[] {
  const out: Field[] = []
  let at = 0
  const varint = (): number => {
    let value = 0
    let scale = 1
    for (;;) {
      const byte = buffer[at++]
      if (byte === undefined) throw new Error('truncated varint')
      value += (byte & 0x7f) * scale
      if (byte < 0x80) return value
      scale *= 128
      if (scale > 2 ** 63) throw new Error('varint too long')
    }
  }
  while (at < buffer.length) {
    const tag = varint()
    const number = Math.floor(tag / 8)
    const wire = tag & 7
    if (wire === 0) out.push({ number, varint: varint() })
    else if (wire === 2) {
      const length = varint()
      if (at + length > buffer.length) throw new Error('truncated field')
      out.push({ number, bytes: buffer.subarray(at, at + length) })
      at += length
    } else if (wire === 1) at += 8
    else if (wire === 5) at += 4
    else throw new Error(`unsupported wire type ${wire}`)
  }
  return out
}

/** Milliseconds the server asked to wait, or undefined when the trailer holds no RetryInfo. */
export function retryDelayFromStatusDetails(details: readonly Buffer[]): number | undefined {
  for (const status of details) {
    try {
      for (const detail of fields(status).filter((field) => field.number === 3 && field.bytes)) {
        const any = fields(detail.bytes as Buffer)
        const typeUrl = any.find((field) => field.number === 1)?.bytes?.toString('utf8')
        const value = any.find((field) => field.number === 2)?.bytes
        if (typeUrl !== RETRY_INFO_TYPE || !value) continue
        const duration = fields(value).find((field) => field.number === 1)?.bytes
        if (!duration) return 0
        const parts = fields(duration)
        const seconds = parts.find((field) => field.number === 1)?.varint ?? 0
        const nanos = parts.find((field) => field.number === 2)?.varint ?? 0
        return seconds * 1000 + Math.round(nanos / 1e6)
      }
    } catch {
      // A malformed trailer gives no delay; the backoff applies.
    }
  }
  return undefined
}

/**
 * `partial_success.rejected_log_records` of an `ExportLogsServiceResponse` (field 1, then field 1), or 0; a malformed
 * answer counts as a full success, as an empty one does.
 */
export function rejectedLogRecords(response: Buffer): number {
  try {
    const partial = fields(response).find((field) => field.number === 1 && field.bytes)?.bytes
    if (!partial) return 0
    const rejected = fields(partial).find((field) => field.number === 1)?.varint ?? 0
    // int64 on the wire: a negative count (ten-byte varint) is nonsense, not a rejection.
    return rejected <= Number.MAX_SAFE_INTEGER ? rejected : 0
  } catch {
    return 0
  }
}
