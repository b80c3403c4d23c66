/** Node's `ServerResponse` (Express's response is one; Fastify's reply wraps one in `raw`), as far as closing goes. */
export interface ClosingResponse {
  readonly statusCode: number
  readonly writableFinished: boolean
  readonly destroyed: boolean
  on(event: 'close', listener: () => void): unknown
}

/** Whether the client left before the response was fully sent (its connection closed first). */
export function clientLeft(res: ClosingResponse): boolean {
  return res.destroyed && !res.writableFinished
}

/**
 * Calls `listener` once the response has closed, with whether it closed before it was fully sent (the client went
 * away). At once when it has closed already: a read that a handler forces after answering is recorded all the same.
 */
export function whenResponseClosed(res: ClosingResponse, listener: (aborted: boolean) => void): void {
  if (res.destroyed) listener(!res.writableFinished)
  // 'close' is emitted once: `on` spares the wrapper `once` allocates on every request.
  else res.on('close', () => listener(!res.writableFinished))
}

/** Node's `ServerResponse`, as far as holding its end goes. */
export interface HoldableResponse extends ClosingResponse {
  readonly writableEnded: boolean
  readonly headersSent: boolean
  statusCode: number
  // Method syntax: Express's and Node's overloaded methods are assignable to these.
  end(...args: unknown[]): unknown
  destroy(): unknown
  once(event: 'close', listener: () => void): unknown
  getHeaders(): Record<string, unknown>
  getHeaderNames(): string[]
  setHeader(name: string, value: never): unknown
  removeHeader(name: string): unknown
}

/**
 * `await` delivery: the response's real `end` runs only once `settle(false)` resolves (the event is durable, or the
 * logger's `awaitTimeoutMs` passed: it never rejects). A client that goes away before the end settles with `true`.
 * A response that has ended already, or whose client has left, cannot be held any more: it settles once closed.
 *
 * While held, the response looks unsent (`headersSent` is false): an error handler reached after the answer
 * (`res.json(x); next(error)`) writes its own status, headers and end over it. The first answer is what the client
 * would have got without the hold, and what is recorded: later ends are ignored until it goes out, and the status and
 * headers it was given are put back.
 */
export function holdEndUntilSettled(res: HoldableResponse, settle: (aborted: boolean) => Promise<unknown>): void {
  // Ended already, or the client already left (its 'close' has passed): settle from how it closed.
  if (res.writableEnded || res.destroyed) {
    whenResponseClosed(res, (aborted) => void settle(aborted))
    return
  }
  const realEnd = res.end
  let ending = false
  let released = false
  res.end = function endOnceSettled(this: HoldableResponse, ...args: unknown[]): unknown {
    if (released) return Reflect.apply(realEnd, this, args)
    if (ending) return this
    ending = true
    const status = res.statusCode
    const headers = res.headersSent ? null : res.getHeaders()
    void settle(false).then(() => {
      released = true
      try {
        res.statusCode = status
        if (headers && !res.headersSent) restoreHeaders(res, headers)
        Reflect.apply(realEnd, res, args)
      } catch (error) {
        console.error(`[auditkit] could not end the held response: ${error instanceof Error ? error.message : String(error)}`)
        res.destroy()
      }
    })
    return this
  }
  res.once('close', () => {
    if (!ending) void settle(true)
  })
}

/** Puts back the headers a response had (names Node keeps lower-cased), dropping any set since. */
function restoreHeaders(res: HoldableResponse, headers: Record<string, unknown>): void {
  for (const name of res.getHeaderNames()) if (!(name in headers)) res.removeHeader(name)
  const current = res.getHeaders()
  for (const [name, value] of Object.entries(headers)) if (current[name] !== value) res.setHeader(name, value as never)
}
