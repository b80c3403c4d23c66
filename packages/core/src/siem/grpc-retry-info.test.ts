import { describe, expect, it } from 'vitest'
import { retryDelayFromStatusDetails } from './grpc-retry-info.js'

// Hand-built protobuf: tag, length, content.
const field = (number: number, content: Buffer): Buffer => Buffer.concat([Buffer.from([(number << 3) | 2, content.length]), content])
const varintField = (number: number, value: number): Buffer => Buffer.from([(number << 3) | 0, value])

function status(typeUrl: string, detail: Buffer): Buffer {
  const any = Buffer.concat([field(1, Buffer.from(typeUrl)), field(2, detail)])
  return Buffer.concat([varintField(1, 14), field(2, Buffer.from('busy')), field(3, any)])
}

describe('gRPC RetryInfo', () => {
  it('reads seconds and nanos of the retry delay', () => {
    const duration = Buffer.concat([varintField(1, 2), Buffer.from([(2 << 3) | 0, 0x80, 0xe1, 0xeb, 0x17])]) // 2 s + 50,000,000 ns
    expect(retryDelayFromStatusDetails([status('type.googleapis.com/google.rpc.RetryInfo', field(1, duration))])).toBe(2050)
  })

  it('gives no delay for other details or malformed bytes', () => {
    expect(retryDelayFromStatusDetails([status('type.googleapis.com/google.rpc.DebugInfo', Buffer.from([8, 1]))])).toBeUndefined()
    expect(retryDelayFromStatusDetails([Buffer.from([0x1a, 0x7f, 0x01])])).toBeUndefined()
    expect(retryDelayFromStatusDetails([])).toBeUndefined()
  })
})
