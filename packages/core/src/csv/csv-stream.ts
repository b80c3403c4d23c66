import type { AuditEvent } from '../event/schema.js'
import type { AuditColumn, ColumnLocale } from './columns.js'
import { UTF8_BOM, encodeCsvRow } from './csv-encoder.js'

export interface CsvStreamOptions {
  /** Events in export order (e.g. `store.stream(filter)`); read lazily, one chunk at a time. Required. */
  events: AsyncIterable<AuditEvent>
  /** Columns in output order, e.g. `AUDIT_COLUMNS`. Required. */
  columns: readonly AuditColumn[]
  /**
   * Language of the header row.
   * @default 'en'
   */
  locale?: ColumnLocale
  /**
   * Start with a UTF-8 byte order mark so that Excel shows Japanese text correctly.
   * @default true
   */
  bom?: boolean
  /**
   * Characters gathered before a chunk is handed to the consumer; bounds memory together with the consumer's backpressure.
   * @default 65536
   */
  chunkSize?: number
  /**
   * Called once when the stream ends: `error` is set when reading failed or the consumer cancelled.
   * Awaited before the stream closes, so what it records is queued by the time the consumer sees the end.
   * @default undefined
   */
  onEnd?: (result: CsvStreamEndInfo) => void | Promise<void>
}

/** What `onEnd` is told when a CSV stream ends. */
export interface CsvStreamEndInfo {
  /** Data rows encoded (the header row not counted). */
  rows: number
  /**
   * Why the stream ended early: the error reading `events` threw, or the consumer's cancel reason (an `Error('cancelled')`
   * when it gave none); absent when every event was encoded.
   */
  error?: unknown
  /** The consumer cancelled the stream (a download aborted). */
  cancelled: boolean
}

/**
 * Encodes events as CSV (UTF-8) on demand: rows are produced only when the consumer pulls, so memory stays
 * constant whatever the number of rows.
 */
export function createCsvStream(options: CsvStreamOptions): ReadableStream<Uint8Array> {
  const { columns } = options
  const locale = options.locale ?? 'en'
  const chunkSize = options.chunkSize ?? 65_536
  const encoder = new TextEncoder()
  const iterator = options.events[Symbol.asyncIterator]()
  let rows = 0
  let ended = false
  let pending = (options.bom ?? true ? UTF8_BOM : '') + encodeCsvRow(columns.map((c) => c.label[locale]))
  const cells: string[] = new Array<string>(columns.length)

  const finish = async (error: unknown, cancelled: boolean): Promise<void> => {
    if (ended) return
    ended = true
    await options.onEnd?.(error === undefined ? { rows, cancelled } : { rows, error, cancelled })
  }

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          while (pending.length < chunkSize) {
            const next = await iterator.next()
            if (next.done) {
              if (pending.length > 0) controller.enqueue(encoder.encode(pending))
              pending = ''
              await finish(undefined, false)
              controller.close()
              return
            }
            for (let i = 0; i < columns.length; i++) cells[i] = (columns[i] as AuditColumn).value(next.value)
            pending += encodeCsvRow(cells)
            rows++
          }
          controller.enqueue(encoder.encode(pending))
          pending = ''
        } catch (error) {
          await finish(error, false)
          controller.error(error)
        }
      },
      async cancel(reason) {
        await iterator.return?.()
        await finish(reason ?? new Error('cancelled'), true)
      },
    },
    { highWaterMark: 1 },
  )
}
