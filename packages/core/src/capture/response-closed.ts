/** Node's `ServerResponse` (Express's response is one; Fastify's reply wraps one in `raw`), as far as closing goes. */
export interface ClosingResponse {
  readonly statusCode: number
  readonly writableFinished: boolean
  readonly destroyed: boolean
  on(event: 'close', listener: () => void): unknown
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
  // Method syntax: Express's and Node's overloaded `end` are assignable to it.
  end(...args: unknown[]): unknown
  destroy(): unknown
  once(event: 'close', listener: () => void): unknown
}

/**
 * `await` delivery: the response's real `end` runs only once `settle(false)` resolves (the event is durable, or the
 * logger's `awaitTimeoutMs` passed: it never rejects). A client that goes away before the end settles with `true`.
 * A response that has ended already, or whose client has left, cannot be held any more: it settles once closed.
 */
export function holdEndUntilSettled(res: HoldableResponse, settle: (aborted: boolean) => Promise<unknown>): void {
  // Ended already, or the client already left (its 'close' has passed): settle from how it closed.
  if (res.writableEnded || res.destroyed) {
    whenResponseClosed(res, (aborted) => void settle(aborted))
    return
  }
  const realEnd = res.end
  let ending = false
  res.end = function endOnceSettled(this: HoldableResponse, ...args: unknown[]): unknown {
    if (ending) return Reflect.apply(realEnd, this, args)
    ending = true
    void settle(false).then(() => {
      try {
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
