import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import ts from 'typescript'
import { extractSamples } from './extract.js'
import type { DocsSample } from './extract.js'

/** Preludes of every block of a file, besides those its `<!-- docs-sample: prelude ... -->` comment names. */
const FILE_PRELUDES: Record<string, string[]> = {
  'docs/admin-api.md': ['express'],
  'docs/admin-ui.md': ['express'],
  'docs/express.md': ['express'],
  'docs/hono.md': ['hono'],
  'docs/integrity.md': ['core'],
  'docs/mongodb.md': ['mongodb'],
  'docs/nestjs.md': ['nestjs'],
  'docs/siem.md': ['core'],
  'packages/admin-ui/README.md': ['express'],
  'packages/core/README.md': ['core'],
  'packages/express/README.md': ['express'],
  'packages/hono/README.md': ['hono'],
  'packages/nestjs/README.md': ['nestjs'],
}

/**
 * The preludes' statements a block gets: their imports only when the block has no import of its own (a block that
 * shows imports must show all it needs), and no declaration of a name the block declares itself.
 */
function prelude(sample: DocsSample, texts: string[]): string {
  const block = ts.createSourceFile('block.ts', sample.code, ts.ScriptTarget.Latest, true)
  const own = new Set(block.statements.flatMap(declaredNames))
  const hasImports = block.statements.some(ts.isImportDeclaration)
  const kept: string[] = []
  for (const text of texts) {
    const source = ts.createSourceFile('prelude.ts', text, ts.ScriptTarget.Latest, true)
    for (const statement of source.statements) {
      if (ts.isImportDeclaration(statement) ? hasImports : declaredNames(statement).some((n) => own.has(n))) continue
      kept.push(statement.getText(source))
    }
  }
  return kept.map((line) => `${line}\n`).join('')
}

function declaredNames(statement: ts.Statement): string[] {
  if (ts.isImportDeclaration(statement)) {
    const clause = statement.importClause
    if (!clause) return []
    const names = clause.name ? [clause.name.text] : []
    const bindings = clause.namedBindings
    if (bindings && ts.isNamespaceImport(bindings)) names.push(bindings.name.text)
    if (bindings && ts.isNamedImports(bindings)) names.push(...bindings.elements.map((e) => e.name.text))
    return names
  }
  if (ts.isVariableStatement(statement)) {
    return statement.declarationList.declarations.flatMap((d) => (ts.isIdentifier(d.name) ? [d.name.text] : []))
  }
  if (
    (ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement) || ts.isInterfaceDeclaration(statement) ||
      ts.isTypeAliasDeclaration(statement) || ts.isEnumDeclaration(statement)) &&
    statement.name
  ) {
    return [statement.name.text]
  }
  return []
}

export interface SampleResult {
  sample: DocsSample
  /** `file:line:column message`, with lines of the markdown file. */
  errors: string[]
}

/** README.md and docs/*.md. */
export function docsFiles(root: string): string[] {
  const docs = readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).sort()
  // The published packages' READMEs too: npm shows them.
  const packages = readdirSync(join(root, 'packages'))
    .filter((name) => existsSync(join(root, 'packages', name, 'README.md')))
    .sort()
  return ['README.md', ...docs.map((f) => `docs/${f}`), ...packages.map((name) => `packages/${name}/README.md`)]
}

/**
 * Type-checks every TypeScript block of the docs as its own module, in one program, against the workspace packages
 * (their `source` condition, as test/tsconfig.json resolves them). A block is preceded by the preludes its file
 * gets (FILE_PRELUDES) and its `<!-- docs-sample: prelude ... -->` comment names (.preludes/<name>.ts: the host app's
 * names a fragment uses), and sees .preludes/globals.d.ts (names every sample may use: `logger`, `authorize`, ...).
 * The folder's name starts with a dot so that test/tsconfig.json's `**` leaves these declarations out of the tests.
 */
export function checkSamples(root: string, extra: { file: string; text: string }[] = []): SampleResult[] {
  const here = join(root, 'test', 'docs-samples')
  const sources = [...docsFiles(root).map((file) => ({ file, text: readFileSync(join(root, file), 'utf8') })), ...extra]
  const samples = sources.flatMap(({ file, text }) => extractSamples(file, text))
  const virtual = new Map<string, { sample: DocsSample; preludeLines: number; text: string }>()
  for (const sample of samples) {
    if (sample.skip) continue
    const names = [...(FILE_PRELUDES[sample.file] ?? []), ...sample.preludes]
    const head = prelude(sample, names.map((name) => {
      const path = join(here, '.preludes', `${name}.ts`)
      if (!existsSync(path)) throw new Error(`${sample.file} block ${sample.index}: no prelude "${name}" (${path})`)
      return readFileSync(path, 'utf8')
    }))
    // `export {}` makes every block a module, so that blocks never see each other's names.
    const text = `${head}${sample.code}\nexport {}\n`
    const name = join(here, '.virtual', `${sample.file.replace(/[/.]/g, '_')}_${sample.index}.ts`)
    virtual.set(name, { sample, preludeLines: head.split('\n').length - 1, text })
  }

  const config = ts.getParsedCommandLineOfConfigFile(join(root, 'test', 'tsconfig.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'))
    },
  })
  if (!config) throw new Error('cannot read test/tsconfig.json')
  const options: ts.CompilerOptions = { ...config.options, noEmit: true, noUnusedLocals: false, noUnusedParameters: false }
  const host = ts.createCompilerHost(options)
  const { fileExists, readFile, getSourceFile } = host
  // A sample may import what an app installs beside AuditKit (mongodb, @nestjs/platform-fastify, @auditkit/admin-ui)
  // and the workspace root does not: those resolve from the packages that depend on them.
  const fallbacks = readdirSync(join(root, 'packages')).map((p) => join(root, 'packages', p, 'index.ts'))
  const cache = ts.createModuleResolutionCache(root, (f) => f, options)
  host.resolveModuleNameLiterals = (literals, containingFile, redirected, opts, containingSource) =>
    literals.map((literal) => {
      const mode = ts.getModeForUsageLocation(containingSource, literal, opts)
      const resolve = (from: string) => ts.resolveModuleName(literal.text, from, opts, host, cache, redirected, mode)
      const first = resolve(containingFile)
      if (first.resolvedModule || !virtual.has(containingFile)) return first
      for (const from of fallbacks) {
        const found = resolve(from)
        if (found.resolvedModule) return found
      }
      return first
    })
  host.fileExists = (f) => virtual.has(f) || fileExists.call(host, f)
  host.readFile = (f) => virtual.get(f)?.text ?? readFile.call(host, f)
  host.getSourceFile = (f, lang, onError, create) => {
    const v = virtual.get(f)
    return v ? ts.createSourceFile(f, v.text, lang, true) : getSourceFile.call(host, f, lang, onError, create)
  }
  const program = ts.createProgram({ rootNames: [...virtual.keys(), join(here, '.preludes', 'globals.d.ts')], options, host })
  const global = [...program.getGlobalDiagnostics(), ...program.getOptionsDiagnostics()]
  if (global.length > 0) throw new Error(ts.formatDiagnostics(global, host))
  const ambient = program.getSourceFile(join(here, '.preludes', 'globals.d.ts'))
  const ambientErrors = ambient ? program.getSemanticDiagnostics(ambient) : []
  if (ambientErrors.length > 0) throw new Error(ts.formatDiagnostics(ambientErrors, host))

  return samples.map((sample) => {
    const entry = [...virtual.entries()].find(([, v]) => v.sample === sample)
    if (!entry) return { sample, errors: [] }
    const [name, v] = entry
    const source = program.getSourceFile(name)
    if (!source) throw new Error(`not in the program: ${name}`)
    const diagnostics = [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]
    const errors = diagnostics.map((d) => {
      const message = ts.flattenDiagnosticMessageText(d.messageText, '\n  ')
      if (d.start === undefined) return `${sample.file} (block ${sample.index}): ${message}`
      const pos = source.getLineAndCharacterOfPosition(d.start)
      const inBlock = pos.line - v.preludeLines
      const where = inBlock < 0 ? `prelude of block ${sample.index}` : `${sample.line + inBlock}:${pos.character + 1}`
      return `${sample.file}:${where} (block ${sample.index}): ${message}`
    })
    return { sample, errors }
  })
}

/** For a run by hand: `npx tsx test/docs-samples/check.ts`. */
if (process.argv[1] && relative(process.argv[1], new URL(import.meta.url).pathname) === '') {
  const root = dirname(dirname(dirname(new URL(import.meta.url).pathname)))
  const started = Date.now()
  const results = checkSamples(root)
  for (const r of results) for (const e of r.errors) console.log(e)
  console.log(`${results.length} blocks, ${results.reduce((n, r) => n + r.errors.length, 0)} errors, ${Date.now() - started} ms`)
}
