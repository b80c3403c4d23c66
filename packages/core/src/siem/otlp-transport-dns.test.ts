import { describe, expect, it } from 'vitest'
import type { EndpointGuard } from './endpoint-policy.js'
import { createOtlpTransport } from './otlp-transport.js'
import type { SiemProtocol } from './settings.js'

// A resolver that never answers (a DNS server that drops queries): the request timeout must bound the whole export,
// name resolution included, and a stopping exporter must not wait for it.
const hangingGuard: EndpointGuard = { checkHost: () => {}, resolve: () => new Promise(() => {}) }

describe.each<SiemProtocol>(['http/protobuf', 'grpc'])('an export whose collector name does not resolve in time (%s)', (protocol) => {
  const transportFor = () =>
    createOtlpTransport({ settings: { endpoint: 'http://collector.example:4318/v1/logs', protocol, headers: {} }, guard: hangingGuard, keepAlive: false, userAgent: 'test' })

  it('answers timeout within the request timeout', async () => {
    const transport = transportFor()
    expect(await transport.send(new Uint8Array(8), 200)).toMatchObject({ ok: false, result: 'timeout' })
    transport.close()
  })

  it('answers at once when the exporter stops meanwhile', async () => {
    const transport = transportFor()
    const stopping = new AbortController()
    const sending = transport.send(new Uint8Array(8), 600_000, stopping.signal)
    stopping.abort()
    expect(await sending).toMatchObject({ ok: false, result: 'unavailable' })
    transport.close()
  })
})
