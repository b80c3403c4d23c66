import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import ts from 'typescript'

/** A docs sample running in its own Node process, as an app that copied it would. */
export interface RunningSample {
  /** `http://127.0.0.1:<port>` of the first server the sample started. */
  origin: string
  /** The app's working directory (where `audit.db` and other relative paths land). */
  cwd: string
  output(): string
  /** Ends the process (SIGTERM, then SIGKILL) and removes its files. */
  stop(): Promise<void>
}

/**
 * Written before the sample: every server listens on a free port instead of the one the sample names (3000 may be
 * taken by a demo), and says which. `reflect-metadata` is what a NestJS app imports first.
 */
const LISTEN_PATCH = `import 'reflect-metadata'
import * as __docsNet from 'node:net'
const __docsListen = __docsNet.Server.prototype.listen
__docsNet.Server.prototype.listen = function (this: __docsNet.Server, ...args: any[]) {
  if (typeof args[0] === 'number' || (typeof args[0] === 'string' && /^\\d+$/.test(args[0]))) args[0] = 0
  else if (args[0] && typeof args[0] === 'object' && 'port' in args[0]) args[0] = { ...args[0], port: 0 }
  this.once('listening', () => {
    const address = this.address()
    if (address && typeof address === 'object') console.log('DOCS_SAMPLE_LISTENING ' + address.port)
  })
  return __docsListen.apply(this, args as never)
} as never
`

/**
 * Runs `code` (docs blocks joined with the host app's parts) in a child Node process: TypeScript compiles it with
 * decorator metadata (as a NestJS app is built), and the workspace packages load from source through tsx.
 */
export async function runSample(
  root: string,
  code: string,
  options: { env?: Record<string, string>; cwd?: string; untilExit?: boolean } = {},
): Promise<RunningSample> {
  const js = ts.transpileModule(`${LISTEN_PATCH}${code}\nexport {}\n`, {
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      verbatimModuleSyntax: true,
    },
  }).outputText
  // The module lives inside the workspace so that its imports resolve like an app's; the app's files go elsewhere.
  const moduleDir = mkdtempSync(join(root, 'test', 'docs-samples', '.run-'))
  const cwd = options.cwd ?? mkdtempSync(join(tmpdir(), 'auditkit-docs-sample-'))
  const entry = join(moduleDir, 'sample.mjs')
  writeFileSync(entry, js)
  const child: ChildProcess = spawn(
    process.execPath,
    ['--conditions=source', '--import', join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs'), entry],
    { cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the sample did not listen within 60 s:\n${output}`)), 60_000)
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const m = /DOCS_SAMPLE_LISTENING (\d+)/.exec(output)
      if (m) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', (code) => {
      clearTimeout(timer)
      // A sample that is not a server (`untilExit`) is done when it exits without an error.
      if (options.untilExit && code === 0) resolve(0)
      else reject(new Error(`the sample exited (${code}) before listening:\n${output}`))
    })
  }).catch(async (error: unknown) => {
    child.kill('SIGKILL')
    await exited
    removeFiles()
    throw error
  })
  function removeFiles(): void {
    rmSync(moduleDir, { recursive: true, force: true })
    if (options.cwd === undefined) rmSync(cwd, { recursive: true, force: true })
  }
  return {
    origin: `http://127.0.0.1:${port}`,
    cwd,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const killer = setTimeout(() => child.kill('SIGKILL'), 5_000)
        await exited
        clearTimeout(killer)
      }
      removeFiles()
    },
  }
}

