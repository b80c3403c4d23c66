import { createServer, request, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { whenResponseClosed } from './response-closed.js'

/** Serves one request with `handle` on a real server; resolves with what `whenResponseClosed` reported. */
async function closeOf(handle: (res: ServerResponse, report: (outcome: boolean | string) => void) => void, abortClient = false): Promise<boolean | string> {
  let report!: (outcome: boolean | string) => void
  const reported = new Promise<boolean | string>((resolve) => (report = resolve))
  let leave = (): void => {}
  const server = createServer((_req, res) => {
    handle(res, report)
    // The client leaves once the server is handling its request (after a fixed delay, a slow machine could leave
    // before the request arrived: then no handler runs and nothing is ever reported).
    if (abortClient) setImmediate(leave)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const req = request({ port: (server.address() as AddressInfo).port, host: '127.0.0.1' }, (res) => res.resume())
  leave = () => void req.destroy()
  req.on('error', () => {})
  req.end()
  try {
    return await reported
  } finally {
    server.closeAllConnections()
    server.close()
  }
}

describe('whenResponseClosed', () => {
  it('reports a response sent in full as not aborted', async () => {
    expect(await closeOf((res, report) => (whenResponseClosed(res, report), res.end('ok')))).toBe(false)
  })

  it('reports a response the client left before it was sent as aborted', async () => {
    expect(await closeOf((res, report) => whenResponseClosed(res, report), true)).toBe(true)
  })

  it('reports at once on a response that closed already', async () => {
    const aborted = await closeOf((res, report) => {
      res.end('ok')
      res.on('close', () => {
        let synchronously = true
        whenResponseClosed(res, (value) => report(synchronously ? value : 'called later'))
        synchronously = false
      })
    })
    expect(aborted).toBe(false)
  })
})
