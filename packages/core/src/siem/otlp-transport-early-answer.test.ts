import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startSourceScript } from '@auditkit/test-utils'
import { createEndpointGuard } from './endpoint-policy.js'
import { createOtlpTransport } from './otlp-transport.js'

/**
 * A collector (or a proxy in front of one) may answer before it has read the request body: a complete HTTP/1.1
 * response that allows keep-alive (here a 404 with `content-length: 0`), sent as soon as the request head arrived.
 *
 * The body has to be larger than what the kernel buffers on both sides can hold, so that the client is still writing
 * when the answer comes: over a real network path a few hundred KB is enough (a proxy answering 404 did it with 289 KB),
 * over loopback the buffers grow to a few MB, hence 24 MB here.
 */
const BODY_BYTES = 24 * 1024 * 1024
const EARLY_ANSWER = 'HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n'

interface EarlyServer {
  endpoint: string
  connections: number
  /** Request heads seen, over every connection. */
  requests: number
  close(): Promise<void>
}

/**
 * `close`: answers, sends FIN at once (`end()`), and closes the socket a few ms later with the body still unread,
 * which makes the kernel answer the client's next segments with RST: the client sees the whole answer, then its
 * pending write fails with EPIPE. Node's keep-alive agent has, by then, taken the socket back for reuse and removed
 * the request's 'error' listener: without a listener of the transport's own, that EPIPE ends the process.
 *
 * `drain-later`: answers, keeps the connection, and reads (and drops) the body only after a pause; later requests on the
 * same connection get a 200. The client finishes writing after the answer: the connection must not be reused.
 */
async function startEarlyServer(mode: 'close' | 'drain-later'): Promise<EarlyServer> {
  const sockets = new Set<Socket>()
  const state = { connections: 0, requests: 0 }
  const server: Server = createServer((socket) => {
    state.connections += 1
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let head = Buffer.alloc(0)
    let bodyLeft = 0
    let first = true
    let pendingAnswer: (() => void) | undefined
    const onData = (chunk: Buffer): void => {
      while (chunk.length > 0) {
        if (bodyLeft > 0) {
          const used = Math.min(bodyLeft, chunk.length)
          bodyLeft -= used
          chunk = chunk.subarray(used)
          continue
        }
        head = Buffer.concat([head, chunk])
        const end = head.indexOf('\r\n\r\n')
        if (end < 0) return
        state.requests += 1
        const length = /\r\ncontent-length:\s*(\d+)/i.exec(head.subarray(0, end).toString('latin1'))
        bodyLeft = length ? Number(length[1]) : 0
        chunk = head.subarray(end + 4)
        head = Buffer.alloc(0)
        if (first) {
          first = false
          socket.pause()
          socket.write(EARLY_ANSWER)
          if (mode === 'close') {
            socket.end()
            setTimeout(() => socket.destroy(), 5)
            return
          }
          // Read again (and drop the rest of the body) once the client has seen the answer.
          setTimeout(() => socket.resume(), 200)
        } else {
          // Answered after the body, as a collector should: only reached on a reused connection.
          const answer = (): void => void socket.write('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n')
          if (bodyLeft === 0) answer()
          else pendingAnswer = answer
        }
      }
      if (bodyLeft === 0 && pendingAnswer) {
        pendingAnswer()
        pendingAnswer = undefined
      }
    }
    socket.on('data', onData)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get connections() {
      return state.connections
    },
    get requests() {
      return state.requests
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

describe('an HTTP collector that answers before the request body was sent', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'auditkit-early-answer-'))
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  // In a separate process: before the fix this EPIPE was an uncaught 'error' event, which ends any process.
  it.each([true, false])('reports the 404 and leaves the process running (keepAlive: %s)', async (keepAlive) => {
    const server = await startEarlyServer('close')
    const script = join(dir, 'send.mjs')
    writeFileSync(
      script,
      `const [transportUrl, guardUrl, endpoint, keepAlive, size] = process.argv.slice(2)
       const { createOtlpTransport } = await import(transportUrl)
       const { createEndpointGuard } = await import(guardUrl)
       const transport = createOtlpTransport({
         settings: { endpoint, protocol: 'http/protobuf', headers: {} },
         guard: createEndpointGuard(),
         keepAlive: keepAlive === 'true',
         userAgent: 'test',
       })
       const results = []
       for (let i = 0; i < 2; i++) {
         results.push(await transport.send(new Uint8Array(Number(size)).fill(7), 10000))
         // Time for the failed write, and for the socket's 'error' event, to come.
         await new Promise((resolve) => setTimeout(resolve, 500))
       }
       transport.close()
       await new Promise((resolve) => setTimeout(resolve, 200))
       process.stdout.write(JSON.stringify(results) + '\\n')`,
    )
    try {
      const child = startSourceScript(
        script,
        [new URL('./otlp-transport.ts', import.meta.url).href, new URL('./endpoint-policy.ts', import.meta.url).href, `${server.endpoint}/v1/logs`, String(keepAlive), String(BODY_BYTES)],
        { cwd: fileURLToPath(new URL('.', import.meta.url)), stderr: 'pipe' },
      )
      const code = await child.exited
      expect(child.stderr).not.toMatch(/EPIPE|ECONNRESET|Unhandled/)
      expect(code).toBe(0)
      const results = JSON.parse(child.stdout) as unknown[]
      expect(results).toHaveLength(2)
      for (const result of results) {
        expect(result).toMatchObject({ ok: false, result: 'path_mismatch', httpStatus: 404 })
      }
      expect(server.connections).toBe(2)
    } finally {
      await server.close()
    }
  }, 30_000)

  it('does not reuse the connection, even once the body could be written after the answer', async () => {
    const server = await startEarlyServer('drain-later')
    const transport = createOtlpTransport({
      settings: { endpoint: `${server.endpoint}/v1/logs`, protocol: 'http/protobuf', headers: {} },
      guard: createEndpointGuard(),
      keepAlive: true,
      userAgent: 'test',
    })
    const uncaught: unknown[] = []
    const onUncaught = (error: unknown): void => void uncaught.push(error)
    process.on('uncaughtException', onUncaught)
    try {
      const body = new Uint8Array(BODY_BYTES).fill(7)
      expect(await transport.send(body, 10_000)).toMatchObject({ ok: false, result: 'path_mismatch', httpStatus: 404 })
      // Long enough for the server to read the rest of the body, which would let Node pool the socket.
      await new Promise((resolve) => setTimeout(resolve, 800))
      // A new connection, which the server answers early again.
      expect(await transport.send(new Uint8Array(16).fill(7), 10_000)).toMatchObject({ ok: false, httpStatus: 404 })
      expect(server.connections).toBe(2)
      expect(server.requests).toBe(2)
      expect(uncaught).toEqual([])
    } finally {
      process.off('uncaughtException', onUncaught)
      transport.close()
      await server.close()
    }
  }, 30_000)
})
