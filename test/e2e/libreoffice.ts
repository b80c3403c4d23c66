import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

/** Debian's LibreOffice (`libreoffice-calc-nogui`); `AUDITKIT_SOFFICE` overrides the path. */
export const SOFFICE_PATH = process.env.AUDITKIT_SOFFICE ?? '/usr/bin/soffice'

/**
 * CSV import options (LibreOffice's "Text CSV" filter tokens): `,` separated, `"` quoted, UTF-8 (76), from line 1,
 * standard cell formats, quoted fields NOT forced to text (7: false, so a quoted `"=1+1"` is a formula too), special
 * numbers detected (8), and 13: evaluate formulas, as Excel does when it opens a CSV.
 */
const IMPORT_FILTER = 'CSV:44,34,76,1,,0,false,true,false,false,false,false,true'

/** Import dialog choices a user may have ticked (Calc remembers them): more separators, "Trim spaces". */
export interface CalcImportOptions {
  /** Field separators besides `,`. */
  alsoSplitOn?: readonly ('tab' | 'space' | 'semicolon')[]
  /** `false`: `,` is no separator (Excel in a locale whose list separator is `;`, with `alsoSplitOn: ['semicolon']`). */
  splitOnComma?: boolean
  /** Strip leading and trailing spaces of each cell (filter token 11). */
  trimSpaces?: boolean
}

function importFilter(options: CalcImportOptions): string {
  const codes = { tab: 9, space: 32, semicolon: 59 }
  const separators = [...(options.splitOnComma === false ? [] : [44]), ...(options.alsoSplitOn ?? []).map((name) => codes[name])].join('/')
  return `CSV:${separators},34,76,1,,0,false,true,false,false,${options.trimSpaces === true},false,true`
}
/** CSV export options: the same separators and encoding, each cell written as shown (9: true), so a formula gives its value. */
const EXPORT_FILTER = 'csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false'
const TIMEOUT_MS = 90_000

/**
 * Opens `csv` in LibreOffice Calc (headless) with formula evaluation on, and returns the sheet saved back as CSV
 * with each cell as Calc shows it: a cell Calc ran as a formula comes back as its result (`=1+1` → `2`), a text cell
 * as its text. Each call uses its own throwaway profile, so parallel runs never share (or hand work to) one Calc.
 * Throws when LibreOffice is missing: the test must fail, not skip.
 */
export async function openInCalc(csv: Uint8Array | string, name = 'export', options: CalcImportOptions = {}): Promise<string> {
  if (!existsSync(SOFFICE_PATH)) {
    throw new Error(
      `LibreOffice not found at ${SOFFICE_PATH}: install it with "apt-get install -y --no-install-recommends libreoffice-calc-nogui" ` +
        '(scripts/test.sh does so as root) or set AUDITKIT_SOFFICE',
    )
  }
  const dir = await mkdtemp(join(tmpdir(), 'auditkit-calc-'))
  try {
    const input = join(dir, `${name}.csv`)
    const outDir = join(dir, 'out')
    await writeFile(input, csv)
    const args = [
      `-env:UserInstallation=${pathToFileURL(join(dir, 'profile')).href}`,
      '--headless',
      '--norestore',
      '--nologo',
      '--nolockcheck',
      `--infilter=${options.alsoSplitOn === undefined && options.trimSpaces === undefined && options.splitOnComma === undefined ? IMPORT_FILTER : importFilter(options)}`,
      '--convert-to',
      EXPORT_FILTER,
      '--outdir',
      outDir,
      input,
    ]
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      execFile(SOFFICE_PATH, args, { timeout: TIMEOUT_MS, killSignal: 'SIGKILL', env: { ...process.env, HOME: dir } }, (error, stdout, stderr) => {
        if (error) reject(new Error(`soffice failed (${error.message}): ${stderr}`))
        else resolve({ stdout, stderr })
      })
    })
    const output = join(outDir, `${name}.csv`)
    // soffice exits 0 even when it could not convert: the missing file is the error.
    if (!existsSync(output)) throw new Error(`soffice wrote no ${output}; stdout: ${stdout} stderr: ${stderr}`)
    return await readFile(output, 'utf8')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
