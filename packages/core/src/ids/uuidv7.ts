import { randomBytes } from 'node:crypto'

let lastMs = -1
let counter = 0
let pool = Buffer.alloc(0)
let poolOffset = 0

function random(n: number): Buffer {
  if (poolOffset + n > pool.length) {
    pool = randomBytes(4096)
    poolOffset = 0
  }
  const out = pool.subarray(poolOffset, poolOffset + n)
  poolOffset += n
  return out
}

/**
 * RFC 9562 UUIDv7. Within one millisecond the 12-bit `rand_a` field is a counter (method 1),
 * so ids from one process sort in creation order; when the counter overflows the clock is nudged forward.
 */
export function uuidv7(nowMs: number = Date.now()): string {
  let ms = nowMs
  if (ms <= lastMs) {
    ms = lastMs
    counter++
    if (counter > 0xfff) {
      ms = lastMs + 1
      counter = 0
    }
  } else {
    counter = random(2).readUInt16BE(0) & 0x3ff
  }
  const bytes = Buffer.alloc(16)
  // Throws for a time that does not fit 48 bits: before lastMs is kept, so one bad clock value breaks no later id.
  bytes.writeUIntBE(ms, 0, 6)
  lastMs = ms
  bytes[6] = 0x70 | (counter >> 8)
  bytes[7] = counter & 0xff
  random(8).copy(bytes, 8)
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
