import { spawn, type ChildProcess } from 'node:child_process'

export interface SourceScriptOptions {
  /** Where `tsx` is resolved from: a folder inside the workspace (the script itself may live in a temporary one). */
  cwd: string
  /**
   * `pipe` collects the child's stderr in `stderr`; `inherit` shows it in the test's output.
   * @default 'inherit'
   */
  stderr?: 'inherit' | 'pipe'
}

/** A script run in its own Node process with tsx, resolving `@auditkit/*` to source, its output collected. */
export interface SourceScript {
  child: ChildProcess
  /** What it printed on stdout so far. */
  readonly stdout: string
  /** What it printed on stderr so far (always empty when inherited). */
  readonly stderr: string
  /** Its exit code once it exits (`null` when killed by a signal). */
  exited: Promise<number | null>
  /** Resolves with `Date.now()` once its stdout holds a whole line, or it exited. */
  firstLine(): Promise<number>
  /** Whether it exits within `ms`; killed if it does not. */
  exitsWithin(ms: number): Promise<boolean>
}

/**
 * Starts `script` (an `.mjs` the test wrote, typically importing the module under test by the URL in its arguments)
 * in a child process: for what only a whole process shows, such as whether it exits or survives an 'error' event.
 */
export function startSourceScript(script: string, args: readonly string[], options: SourceScriptOptions): SourceScript {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', script, ...args], {
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', options.stderr ?? 'inherit'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  return {
    child,
    get stdout() {
      return stdout
    },
    get stderr() {
      return stderr
    },
    exited,
    firstLine: () =>
      new Promise<number>((resolve) => {
        const check = (): void => (stdout.includes('\n') ? resolve(Date.now()) : void child.stdout?.once('data', check))
        check()
        void exited.then(() => resolve(Date.now()))
      }),
    async exitsWithin(ms) {
      let timer: NodeJS.Timeout | undefined
      const ended = await Promise.race([exited.then(() => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)))])
      clearTimeout(timer)
      if (!ended) child.kill()
      return ended
    },
  }
}
