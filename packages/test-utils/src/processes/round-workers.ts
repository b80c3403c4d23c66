import { spawn } from 'node:child_process'
import { dirname } from 'node:path'

/**
 * A writer process the parent drives in rounds (run with tsx from source): it prints `ready`, then answers each `go`
 * line with `round <k>` once that round's work is done, and prints its result as JSON on its last line.
 */
export interface RoundWorker<Result> {
  /** The JSON of its last line once it exits with 0; rejects (with its output) otherwise. */
  done: Promise<Result>
  /** Starts its next round. */
  go(): void
  /** Resolves once its output holds `marker`. */
  printed(marker: string): Promise<void>
}

export function startRoundWorker<Result>(script: string, args: readonly string[]): RoundWorker<Result> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', script, ...args], {
    cwd: dirname(script),
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  let output = ''
  const waiting: { marker: string; resolve: () => void }[] = []
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    output += text
    for (const waiter of waiting.filter((w) => output.includes(w.marker))) {
      waiting.splice(waiting.indexOf(waiter), 1)
      waiter.resolve()
    }
  })
  const done = new Promise<Result>((resolve, reject) => {
    child.on('error', reject)
    child.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(output.trimEnd().split('\n').at(-1) ?? '') as Result)
        : reject(new Error(`${script} ${args.join(' ')} exited with ${code}: ${output}`)),
    )
  })
  return {
    done,
    go: () => void child.stdin.write('go\n'),
    printed: (marker) => (output.includes(marker) ? Promise.resolve() : new Promise((resolve) => waiting.push({ marker, resolve }))),
  }
}

/**
 * Waits until every worker is ready, then runs `rounds` rounds: each starts all workers at once and waits for all,
 * so their work interleaves whatever the OS schedules (one cannot finish before another begins). A worker that dies
 * fails the run instead of leaving it waiting. Answers each worker's result.
 */
export async function runInRounds<Result>(workers: readonly RoundWorker<Result>[], rounds: number): Promise<Result[]> {
  const orDeath = (waiting: Promise<unknown>): Promise<unknown> => Promise.race([waiting, Promise.all(workers.map((worker) => worker.done))])
  await orDeath(Promise.all(workers.map((worker) => worker.printed('ready\n'))))
  for (let round = 0; round < rounds; round++) {
    for (const worker of workers) worker.go()
    await orDeath(Promise.all(workers.map((worker) => worker.printed(`round ${round}\n`))))
  }
  return Promise.all(workers.map((worker) => worker.done))
}
