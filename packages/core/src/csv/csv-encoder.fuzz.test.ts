import { parse } from 'csv-parse/sync'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CSV_ROW_END, encodeCsvCell, encodeCsvRow } from './csv-encoder.js'

/**
 * Property-based tests of the CSV encoder: every value reads back as one cell in its own column (never splitting or
 * merging rows), equal to the input up to the documented normalisation (C0 controls but tab/LF/CR become U+FFFD,
 * CR and CRLF become LF), with a leading `'` exactly when the input starts like a formula and one before each formula
 * sign after a `;`, tab or line break.
 */

/** Characters that exercise every branch: formula signs (ASCII and full-width), blanks, separators, quotes, controls. */
const TRICKY = [
  '=', '+', '-', '@', '\uFF1D', '\uFF0B', '\uFF0D', '\uFF20', "'", '"', ',', ';', ' ', '\t', '\r', '\n', '\r\n',
  '\u00A0', '\u3000', '\u2028', '\uFEFF', '\u200B', '\x00', '\x01', '\x0B', '\x0C', '\x1C', '\x1F', '\x7F', '\u0085',
  'a', 'Z', '1', '(', ')', '|', '!', '\u00E9', '\u65E5', '\uD83D\uDE00', '\uD800',
]
const trickyString = fc.string({ unit: fc.constantFrom(...TRICKY), maxLength: 12 })
/** Any code point (astral and lone surrogates included), or mostly-tricky characters. */
const cellValue = fc.oneof(
  { weight: 3, arbitrary: trickyString },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 16 }) },
  { weight: 1, arbitrary: fc.tuple(trickyString, fc.string({ unit: 'grapheme', maxLength: 8 }), trickyString).map((parts) => parts.join('')) },
)

const SIGNS = new Set(['=', '+', '-', '@', '\uFF1D', '\uFF0B', '\uFF0D', '\uFF20'])

/** The oracle, independent of the encoder's regexes: a spreadsheet trims blanks (`\s`) and then sees a formula sign. */
function startsLikeFormula(value: string): boolean {
  const first = value.replace(/^\s+/, '')[0]
  return first !== undefined && SIGNS.has(first)
}

/**
 * What the encoder promises to keep of a value: everything but C0 controls (U+FFFD) and CR line ends (LF). A lone
 * surrogate becomes U+FFFD too, but in the UTF-8 encoding of the file (csv-stream's TextEncoder), not in the encoder.
 */
function normalised(value: string): string {
  // eslint-disable-next-line no-control-regex
  const text = value.replace(/[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]/g, '\uFFFD').replace(/\r\n?/g, '\n')
  return Buffer.from(text, 'utf8').toString('utf8')
}

/**
 * The cell a reader gets back for a value: the normalised value, with `'` after each `;`, tab or line break that a
 * formula sign follows (blanks and quotes between allowed), and before the whole value when it starts like a formula.
 * Written as a character walk, not with the encoder's regexes.
 */
function expectedCell(value: string): string {
  const chars = [...normalised(value)]
  let out = ''
  chars.forEach((char, i) => {
    out += char
    if (char !== ';' && char !== '\t' && char !== '\n') return
    let next = i + 1
    while (next < chars.length && (/\s/.test(chars[next] as string) || chars[next] === '"')) next++
    if (SIGNS.has(chars[next] as string)) out += "'"
  })
  return startsLikeFormula(value) || /^[\t\r]/.test(value) ? `'${out}` : out
}

/**
 * The fields a spreadsheet's import reads from `text` when it splits on `delimiter` alone: a quote opens a quoted
 * field only at a field's start (up to a quote not doubled; one never closed runs to the end of the text), anything
 * else runs to the next delimiter or line break. Lenient where csv-parse throws, as spreadsheets are.
 */
function spreadsheetFields(text: string, delimiter: string): string[] {
  const fields: string[] = []
  let i = 0
  while (i < text.length) {
    let field = ''
    if (text[i] === '"') {
      i++
      while (i < text.length && !(text[i] === '"' && text[i + 1] !== '"')) {
        field += text[i]
        i += text[i] === '"' ? 2 : 1
      }
      i++
    }
    while (i < text.length && text[i] !== delimiter && text[i] !== '\n' && text[i] !== '\r') field += text[i++]
    fields.push(field)
    i++
  }
  return fields
}

const readRows = (csv: string): string[][] => parse(csv, { relax_quotes: false, relax_column_count: false }) as string[][]

describe('encodeCsvCell / encodeCsvRow (property-based)', () => {
  it('a row of any values reads back as exactly that many cells, each the (normalised) value, prefixed with \' iff it starts like a formula', () => {
    fc.assert(
      fc.property(fc.array(cellValue, { minLength: 1, maxLength: 5 }), (values) => {
        const rows = readRows(encodeCsvRow(values))
        expect(rows).toHaveLength(1)
        const row = rows[0] as string[]
        expect(row).toHaveLength(values.length)
        values.forEach((value, i) => expect(row[i]).toBe(expectedCell(value)))
      }),
      { numRuns: 900 },
    )
  })

  it('no read-back cell starts like a formula (after blanks) unless it starts with the \' prefix', () => {
    fc.assert(
      fc.property(fc.array(cellValue, { minLength: 1, maxLength: 4 }), (values) => {
        for (const cell of readRows(encodeCsvRow(values))[0] as string[]) {
          if (cell.startsWith("'")) continue
          expect(startsLikeFormula(cell), JSON.stringify(cell)).toBe(false)
          expect(cell).not.toMatch(/^[\t\r]/)
          // No control character but tab and LF survives, and no CR at all.
          // eslint-disable-next-line no-control-regex
          expect(cell).not.toMatch(/[\x00-\x08\x0B-\x1F\x7F]/)
        }
      }),
      { numRuns: 600 },
    )
  })

  it('many rows concatenated read back as the same number of rows (no value ends or merges a row)', () => {
    fc.assert(
      fc.property(fc.array(fc.array(cellValue, { minLength: 3, maxLength: 3 }), { minLength: 1, maxLength: 6 }), (table) => {
        const rows = readRows(table.map(encodeCsvRow).join(''))
        expect(rows).toHaveLength(table.length)
        rows.forEach((row, i) => expect(row).toEqual((table[i] as string[]).map(expectedCell)))
      }),
      { numRuns: 180 },
    )
  })

  it('an unquoted cell holds no separator, quote, line break or tab; a quoted one is wrapped whole', () => {
    fc.assert(
      fc.property(cellValue, (value) => {
        const cell = encodeCsvCell(value)
        expect(cell).not.toContain('\r')
        if (cell.startsWith('"')) {
          expect(cell.endsWith('"')).toBe(true)
          // Inside the quotes, every quote is doubled.
          expect(cell.slice(1, -1).replace(/""/g, '')).not.toContain('"')
        } else {
          expect(cell).not.toMatch(/[",;\t\r\n]/)
          expect(cell + CSV_ROW_END).toBe(encodeCsvRow([value]))
        }
      }),
      { numRuns: 900 },
    )
  })

  it.each([';', '\t', ' '])(
    'a reader splitting on %j (Excel in ;-locales, Calc\'s import dialog) sees no field of a one-cell row start like a formula',
    (delimiter) => {
      fc.assert(
        fc.property(cellValue, (value) => {
          const rows = parse(encodeCsvRow([value]), { delimiter, relax_quotes: true, relax_column_count: true }) as string[][]
          for (const row of rows) for (const field of row) if (!field.startsWith("'")) expect(startsLikeFormula(field), JSON.stringify(field)).toBe(false)
        }),
        { numRuns: 360 },
      )
    },
  )

  // Found by the property above when run on rows of several cells: a reader splitting only on `;` (Excel in German or
  // French locales) or on tab reads the quote that opens a later column's cell as text and splits inside that cell,
  // so quoting protects only the first column. A sign after such a separator is neutralised instead. (A reader
  // splitting only on spaces is left out on purpose: see INNER_FORMULA in csv-encoder.ts.)
  it.each([';', '\t'])('a reader splitting only on %j sees no field of a row of several cells start like a formula', (delimiter) => {
    fc.assert(
      fc.property(fc.array(cellValue, { minLength: 2, maxLength: 4 }), (values) => {
        for (const field of spreadsheetFields(encodeCsvRow(values), delimiter))
          if (!field.startsWith("'")) expect(startsLikeFormula(field), JSON.stringify(field)).toBe(false)
      }),
      { numRuns: 360 },
    )
  })
})
