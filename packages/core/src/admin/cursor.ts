import { createHmac, timingSafeEqual } from 'node:crypto'
import { AuditKitError } from '../errors.js'
import type { EventCursor } from '../store/types.js'
import type { TimeRange } from './types.js'

/**
 * Cursors are `base64url(payload).base64url(mac)`. The payload is the keyset position (last item's
 * `occurredAt` and `id`) plus the time window of the first page, so that later pages keep the same window.
 * The MAC covers the payload and the tenant and filters it was issued for: an edited cursor, or one replayed
 * with other filters, is refused with `INVALID_CURSOR`. A forged cursor could only move a position inside
 * the caller's own tenant, so the default key is fixed (cursors stay valid across instances and restarts);
 * set `cursorSecret` to make them unforgeable as well.
 */
const VERSION = 1
const MAX_CURSOR_LENGTH = 512
const MAC_BYTES = 16
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const DEFAULT_KEY = 'auditkit-admin-cursor-v1'

export interface CursorPosition {
  after: EventCursor
  window: TimeRange
}

export interface CursorCodec {
  encode(position: CursorPosition, binding: string): string
  /** Throws `AuditKitError('INVALID_CURSOR')` unless the cursor was issued for this binding. */
  decode(cursor: string, binding: string): CursorPosition
}

export function createCursorCodec(secret: string | Buffer = DEFAULT_KEY): CursorCodec {
  const mac = (payload: string, binding: string): Buffer =>
    createHmac('sha256', secret).update(payload).update('\n').update(binding).digest().subarray(0, MAC_BYTES)
  const refuse = (): AuditKitError =>
    new AuditKitError(
      'INVALID_CURSOR',
      'The cursor is malformed, was altered, or was issued for other filters; request the first page again without "cursor".',
    )

  return {
    encode({ after, window }, binding) {
      const payload = Buffer.from(JSON.stringify([VERSION, after.occurredAt, after.id, window.from, window.to])).toString('base64url')
      return `${payload}.${mac(payload, binding).toString('base64url')}`
    },
    decode(cursor, binding) {
      if (cursor.length > MAX_CURSOR_LENGTH) throw refuse()
      const [payload, signature, extra] = cursor.split('.')
      if (payload === undefined || signature === undefined || extra !== undefined) throw refuse()
      const given = Buffer.from(signature, 'base64url')
      const expected = mac(payload, binding)
      // Base64 has spare bits in its last character: require the canonical spelling so that no edit goes unnoticed.
      if (given.toString('base64url') !== signature) throw refuse()
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw refuse()
      let parsed: unknown
      try {
        parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
      } catch {
        throw refuse()
      }
      // Even a correctly signed cursor is checked field by field: with a custom key leak or a bug, nothing odd reaches the store.
      if (!Array.isArray(parsed) || parsed.length !== 5 || parsed[0] !== VERSION) throw refuse()
      const [, occurredAt, id, from, to] = parsed as unknown[]
      for (const instant of [occurredAt, from, to]) if (typeof instant !== 'string' || !ISO_INSTANT.test(instant)) throw refuse()
      if (typeof id !== 'string' || id.length === 0 || id.length > 256) throw refuse()
      return { after: { occurredAt: occurredAt as string, id }, window: { from: from as string, to: to as string } }
    },
  }
}
