/**
 * The runner every `<framework>-overhead` bench shares: requests per second of a small JSON POST handler, bare, with
 * AuditKit (async delivery, SQLite file store) and with pino-http, measured in the same run with autocannon.
 * Each server runs in its own child process (the protocol is in `bench-server.ts`); each variant is warmed up, then
 * measured; rounds are interleaved and the best round per variant is kept (the machine is shared, so the best round
 * is the least disturbed one).
 *
 * Target: AuditKit costs less throughput than pino-http, and at most 15 % of bare.
 *
 * Env: BENCH_DURATION_S (default 5), BENCH_WARMUP_S (default 2), BENCH_ROUNDS (default 2), BENCH_CONNECTIONS (default 10),
 * BENCH_VARIANTS (default bare,auditkit,pino-http: a subset, for profiling), BENCH_FLUSH_INTERVAL_MS (the logger's),
 * BENCH_METHOD (default POST; GET loads a read route instead, the cost of requests AuditKit does not record),
 * BENCH_SERVER_NODE_ARGS (Node flags for the server processes, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`),
 * BENCH_WRITER=inline (the SQLite store writes on the main thread instead of its writer thread).
 *
 * Besides the ratios it prints how busy the machine was in the bare run (server and load generator CPU together):
 * when no core is idle, whatever CPU recording costs, on any thread, comes straight off throughput.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { build } from 'tsup'
import type { CpuReport } from './bench-server.js'

export const VARIANTS = ['bare', 'auditkit', 'pino-http'] as const
export type Variant = (typeof VARIANTS)[number]

export interface OverheadBenchOptions {
  /** Printed in the header, e.g. `hono-overhead`. */
  name: string
  /** Absolute path of the server script; it receives the variant as argv[2]. */
  serverFile: string
  /** Extra environment for the server processes (e.g. `TSX_TSCONFIG_PATH` for decorators). */
  env?: Record<string, string>
  /**
   * Run the server as users run AuditKit: bundled by tsup (AuditKit from source) and started on plain Node, without a
   * TypeScript loader (tsx keeps function names by wrapping every function, a tax on per-request closures). Not for
   * servers that need decorator metadata, which esbuild does not emit.
   * @default undefined (the server runs under tsx)
   */
  bundle?: {
    /** Packages left to Node's resolution at run time (native modules, the framework, pino). */
    external: string[]
    /**
     * tsconfig whose compiler options the build uses (e.g. `experimentalDecorators` for NestJS). Never one with
     * `emitDecoratorMetadata`: tsup then compiles with swc and keeps every function's name (`__name(fn)` on each closure
     * made per request, about 4 µs a request here), which AuditKit's published build does not do.
     * @default `tsconfig.bundle.json` beside this file (the base options, no decorator metadata)
     */
    tsconfig?: string
  }
}

interface Measurement {
  rps: number
  /** 99th percentile latency, in milliseconds (synchronous store writes hold the event loop for a whole batch). */
  p99Ms: number
  /** Server CPU time (user + system, all threads) per request, in microseconds. */
  cpuPerRequest: number
  /** The request (main) thread's share of that: the writer thread's work is not in it. Null off Linux. */
  requestThreadCpuPerRequest: number | null
  /** The load generator's (this process's) CPU time per request, in microseconds. */
  loadCpuPerRequest: number
  /** Share of the machine's cores that server and load generator kept busy together (1 = every core, all the time). */
  machineBusy: number
}

export async function runOverheadBench(options: OverheadBenchOptions): Promise<void> {
  const duration = Number(process.env.BENCH_DURATION_S ?? 5)
  const warmup = Number(process.env.BENCH_WARMUP_S ?? 2)
  const rounds = Number(process.env.BENCH_ROUNDS ?? 2)
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 10)
  const chosen = (process.env.BENCH_VARIANTS ?? VARIANTS.join(',')).split(',')
  const variants = VARIANTS.filter((variant) => chosen.includes(variant))
  const reads = (process.env.BENCH_METHOD ?? 'POST').toUpperCase() === 'GET'
  // Node refuses --cpu-prof in NODE_OPTIONS: profiling flags for the server processes come through this variable.
  const serverNodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean)

  let command = ['--conditions=source', '--import', 'tsx', options.serverFile]
  if (options.bundle) {
    // Inside bench/node_modules so that the externals resolve from the bench's dependencies.
    const outDir = join(dirname(options.serverFile), '..', 'node_modules', '.cache', options.name)
    const entry = basename(options.serverFile).replace(/\.ts$/, '')
    await build({
      entry: { [entry]: options.serverFile },
      outDir,
      format: ['esm'],
      platform: 'node',
      target: 'node20',
      noExternal: [/^@auditkit\//],
      external: options.bundle.external,
      dts: false,
      sourcemap: false,
      silent: true,
      clean: true,
      tsconfig: options.bundle.tsconfig ?? join(dirname(fileURLToPath(import.meta.url)), 'tsconfig.bundle.json'),
      esbuildOptions(esbuild) {
        esbuild.conditions = ['source']
      },
    })
    command = [join(outDir, `${entry}.js`)]
  }

  function startServer(variant: Variant): Promise<{ port: number; child: ChildProcess; output: () => string }> {
    const child = spawn(process.execPath, [...serverNodeArgs, ...command, variant], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, NODE_ENV: 'production', ...options.env },
    })
    let out = ''
    return new Promise((resolve, reject) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString()
        const port = /LISTENING (\d+)/.exec(out)?.[1]
        if (port) resolve({ port: Number(port), child, output: () => out })
      })
      child.once('exit', (code) => reject(new Error(`${variant} server exited with ${code}`)))
    })
  }

  async function load(port: number, seconds: number): Promise<{ rps: number; p99Ms: number; errors: number; non2xx: number }> {
    const result = await autocannon({
      ...(reads
        ? { url: `http://127.0.0.1:${port}/projects/p_1`, method: 'GET' as const, headers: { 'user-agent': 'bench/1.0' } }
        : {
            url: `http://127.0.0.1:${port}/projects`,
            method: 'POST' as const,
            headers: { 'content-type': 'application/json', 'user-agent': 'bench/1.0' },
            body: JSON.stringify({ name: 'Apollo' }),
          }),
      connections,
      duration: seconds,
    })
    return { rps: result.requests.average, p99Ms: result.latency.p99, errors: result.errors, non2xx: result.non2xx }
  }

  async function measure(variant: Variant): Promise<Measurement> {
    const server = await startServer(variant)
    const base = `http://127.0.0.1:${server.port}/__bench`
    try {
      if (warmup > 0) await load(server.port, warmup)
      await fetch(`${base}/reset`)
      const loadCpu0 = process.cpuUsage()
      const started = performance.now()
      const { rps, p99Ms, errors, non2xx } = await load(server.port, duration)
      const wallMicros = (performance.now() - started) * 1000
      const loadCpu = process.cpuUsage(loadCpu0)
      const cpu = (await (await fetch(`${base}/cpu`)).json()) as CpuReport
      if (errors > 0 || non2xx > 0) throw new Error(`${variant}: ${errors} errors, ${non2xx} non-2xx responses`)
      const served = Math.max(1, cpu.served)
      const loadCpuMicros = loadCpu.user + loadCpu.system
      return {
        rps,
        p99Ms,
        cpuPerRequest: cpu.cpuMicros / served,
        requestThreadCpuPerRequest: cpu.requestThreadMicros === null ? null : cpu.requestThreadMicros / served,
        loadCpuPerRequest: loadCpuMicros / served,
        machineBusy: (cpu.cpuMicros + loadCpuMicros) / (wallMicros * availableParallelism()),
      }
    } finally {
      const exited = new Promise((resolve) => server.child.once('exit', resolve))
      server.child.kill('SIGTERM')
      await exited
      const stats = /STATS (.*)/.exec(server.output())?.[1]
      if (stats) console.log(`    ${variant} logger after close: ${stats}`)
    }
  }

  const best: Record<Variant, number> = { bare: 0, auditkit: 0, 'pino-http': 0 }
  const leastCpu: Record<Variant, number> = { bare: Infinity, auditkit: Infinity, 'pino-http': Infinity }
  const leastThreadCpu: Record<Variant, number> = { bare: Infinity, auditkit: Infinity, 'pino-http': Infinity }
  const bareRounds: Measurement[] = []
  console.log(
    `${options.name}: ${reads ? 'GET /projects/:projectId (a read: AuditKit records nothing)' : 'POST /projects'}, ` +
      `${rounds} round(s), ${warmup}s warm-up + ${duration}s per variant, ${connections} connections`,
  )
  for (let round = 1; round <= rounds; round++) {
    for (const variant of variants) {
      const measured = await measure(variant)
      const { rps, p99Ms, cpuPerRequest, requestThreadCpuPerRequest, loadCpuPerRequest, machineBusy } = measured
      if (variant === 'bare') bareRounds.push(measured)
      best[variant] = Math.max(best[variant], rps)
      leastCpu[variant] = Math.min(leastCpu[variant], cpuPerRequest)
      if (requestThreadCpuPerRequest !== null) leastThreadCpu[variant] = Math.min(leastThreadCpu[variant], requestThreadCpuPerRequest)
      console.log(
        `  round ${round} ${variant.padEnd(9)} ${rps.toFixed(0).padStart(7)} req/s  p99 ${p99Ms.toFixed(1).padStart(5)} ms  ${cpuPerRequest.toFixed(1).padStart(6)} µs CPU/request` +
          (requestThreadCpuPerRequest === null ? '' : ` (request thread ${requestThreadCpuPerRequest.toFixed(1)})`) +
          `  (load generator ${loadCpuPerRequest.toFixed(1)} µs; machine ${(machineBusy * 100).toFixed(0)} % busy)`,
      )
    }
  }

  // Two views of the same cost: measured throughput, and the throughput the server's CPU time per request allows
  // (1 / CPU per request), which other load on a shared machine disturbs much less.
  const rpsCost = (variant: Variant): number => 1 - best[variant] / best.bare
  const cpuCost = (variant: Variant): number => 1 - leastCpu.bare / leastCpu[variant]
  const line = (variant: Variant): string =>
    `${variant.padEnd(9)} ${best[variant].toFixed(0).padStart(7)} req/s ${(best[variant] / best.bare).toFixed(2)}x (costs ${(rpsCost(variant) * 100).toFixed(1).padStart(5)} %)` +
    `   ${leastCpu[variant].toFixed(1).padStart(6)} µs CPU/req ${(leastCpu.bare / leastCpu[variant]).toFixed(2)}x (costs ${(cpuCost(variant) * 100).toFixed(1).padStart(5)} %)`
  console.log('')
  for (const variant of variants) console.log(line(variant))
  if (Number.isFinite(leastThreadCpu.bare)) {
    const added = (variant: Variant): string => `${variant} +${(leastThreadCpu[variant] - leastThreadCpu.bare).toFixed(1)} µs`
    console.log(
      `request thread alone (least of the rounds): bare ${leastThreadCpu.bare.toFixed(1)} µs CPU/req; ` +
        variants.filter((v) => v !== 'bare').map(added).join(', '),
    )
  }
  const verdict = (label: string, cost: (v: Variant) => number): void => {
    console.log(`${cost('auditkit') < cost('pino-http') ? 'PASS' : 'MISS'}  [${label}] AuditKit costs less than pino-http`)
    console.log(`${cost('auditkit') <= 0.15 ? 'PASS' : 'MISS'}  [${label}] AuditKit costs at most 15 % of bare`)
  }
  if (variants.length === VARIANTS.length) {
    verdict('throughput', rpsCost)
    verdict('CPU per request', cpuCost)
  }
  // Whether the machine had CPU to spare in the bare run. With none, every µs of CPU an audit record costs, on any
  // thread, comes straight off throughput; with an idle core, work off the request thread could hide there.
  const bareRun = bareRounds.reduce<Measurement | undefined>((a, b) => (a && a.rps >= b.rps ? a : b), undefined)
  if (bareRun) {
    const cores = availableParallelism()
    const idleCores = cores * (1 - bareRun.machineBusy)
    console.log(
      `machine: ${cores} cores, ${(bareRun.machineBusy * 100).toFixed(0)} % busy in the best bare round (server ` +
        `${bareRun.cpuPerRequest.toFixed(1)} µs + load generator ${bareRun.loadCpuPerRequest.toFixed(1)} µs of CPU a request, ` +
        `${idleCores.toFixed(1)} core idle); 15 % of bare is ${(bareRun.cpuPerRequest * 0.15).toFixed(1)} µs of the server's CPU a request`,
    )
  }
}
