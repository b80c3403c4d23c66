/**
 * Reads the first `chunks` chunks of a download before the answer is sent, and replays them: a store that is down
 * then fails the request (a JSON 503) instead of a 200 whose file is cut off after its first line.
 */
export async function primedStream(source: ReadableStream<Uint8Array>, chunks = 1): Promise<ReadableStream<Uint8Array>> {
  const reader = source.getReader()
  const read: Uint8Array[] = []
  let done = false
  while (!done && read.length < chunks) {
    const next = await reader.read()
    if (next.done) done = true
    else read.push(next.value)
  }
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        for (const chunk of read) controller.enqueue(chunk)
        if (done) controller.close()
      },
      async pull(controller) {
        const next = await reader.read()
        if (next.done) controller.close()
        else controller.enqueue(next.value)
      },
      async cancel(reason) {
        await reader.cancel(reason)
      },
    },
    { highWaterMark: 0 },
  )
}
