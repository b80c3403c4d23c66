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
