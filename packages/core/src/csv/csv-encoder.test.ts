import { parse } from 'csv-parse/sync'
import { describe, expect, it } from 'vitest'
import { encodeCsvCell, encodeCsvRow } from './csv-encoder.js'

const roundTrip = (values: string[]): string[][] => parse(encodeCsvRow(values), { bom: true, relax_quotes: false }) as string[][]

describe('encodeCsvCell', () => {
  it('leaves plain values alone and quotes separators, quotes and line breaks (RFC 4180)', () => {
    expect(encodeCsvCell('project_created')).toBe('project_created')
    expect(encodeCsvCell('a,b')).toBe('"a,b"')
    expect(encodeCsvCell('say "hi"')).toBe('"say ""hi"""')
    expect(encodeCsvCell('line1\nline2')).toBe('"line1\nline2"')
    expect(encodeCsvCell('')).toBe('')
  })

  it.each(['=1+1', '+1', '-1', '@SUM(A1)', '\tcmd', '\r=1', '=HYPERLINK("http://x","y")'])(
    'neutralises the formula-like cell %j with a leading quote, quoted',
    (value) => {
      const cell = encodeCsvCell(value)
      expect(cell.startsWith(`"'`)).toBe(true)
      const [row] = roundTrip([value, 'next'])
      expect(row?.[0]?.startsWith("'")).toBe(true)
      expect(row?.[1]).toBe('next')
    },
  )

  it('doubles the quotes inside a neutralised formula cell, so the value reads back whole', () => {
    const value = '=HYPERLINK("http://x","y")'
    expect(encodeCsvCell(value)).toBe('"\'=HYPERLINK(""http://x"",""y"")"')
    expect(roundTrip([value])).toEqual([[`'${value}`]])
  })

  it('quotes a cell holding ";", and neutralises a formula sign after it, so that a reader splitting on ";" (Excel in German or French) cannot start a formula cell', () => {
    const value = 'x;=HYPERLINK("http://evil.example","open")'
    expect(encodeCsvCell(value)).toBe(`"x;'=HYPERLINK(""http://evil.example"",""open"")"`)
    // Read as such a reader would: the value stays one cell, no cell starts with "=".
    expect(parse(encodeCsvRow([value]), { delimiter: ';' })).toEqual([[`x;'=HYPERLINK("http://evil.example","open")`]])
  })

  it('neutralises a formula sign after a ";", tab or line break in a later column, where quoting cannot help a reader splitting only on them', () => {
    // Such a reader takes the quote opening the second cell for text and splits inside it: the sign must not start a field.
    const row = encodeCsvRow(['2026-01-31T09:00:00.000Z', "a;=cmd|' /C calc'!A0;b", 'c\t=1+1', 'line\n=2*21', 'd; \t-3', 'e\r\n@SUM(1,2)'])
    expect(row).toBe(`2026-01-31T09:00:00.000Z,"a;'=cmd|' /C calc'!A0;b","c\t'=1+1","line\n'=2*21","d;' \t'-3","e\n'@SUM(1,2)"\r\n`)
    for (const delimiter of [';', '\t'])
      for (const field of (parse(row, { delimiter, relax_quotes: true, relax_column_count: true }) as string[][]).flat())
        expect(field.trimStart(), JSON.stringify(field)).not.toMatch(/^[=+\-@]/)
    // A quote between the separator and the sign does not help: such a field starts with an empty quoted string.
    expect(encodeCsvCell('a\n"=1+1')).toBe(`"a\n'""=1+1"`)
    // A sign further in after other characters is left alone: only one right after the separator starts a field.
    expect(encodeCsvCell('a;b=c')).toBe('"a;b=c"')
    expect(encodeCsvCell('a;b-c')).toBe('"a;b-c"')
  })

  it('quotes a cell holding a tab or a space before a formula character, so that a reader splitting on tab or space and on "," (the import dialogs of Calc and Excel offer both) cannot start a formula cell', () => {
    // Unquoted, LibreOffice Calc with Tab (or Space) ticked splits these and computes "=1+1" in the second cell.
    expect(encodeCsvCell('x\t=1+1')).toBe(`"x\t'=1+1"`)
    expect(encodeCsvCell('ok\t-1+1')).toBe(`"ok\t'-1+1"`)
    expect(encodeCsvCell('x =1+1')).toBe('"x =1+1"')
    expect(encodeCsvCell('x =A1')).toBe('"x =A1"')
    expect(parse(encodeCsvRow(['x\t=1+1']), { delimiter: '\t' })).toEqual([[`x\t'=1+1`]])
    expect(parse(encodeCsvRow(['x =1+1']), { delimiter: ' ' })).toEqual([['x =1+1']])
    // A space not before a formula character needs nothing; one before it, in text such as "Phase 1 - Phase 2", is
    // kept as written (a reader splitting only on spaces is not worth changing such common text).
    expect(encodeCsvCell('Ada Admin')).toBe('Ada Admin')
    expect(encodeCsvCell('Phase 1 - Phase 2')).toBe('"Phase 1 - Phase 2"')
  })

  it.each([' =1+1', '  =2+2', '\u00a0=1+1', '\u3000=1+1', '＝1+1', '＋1', '－1', '＠SUM(A1)', ' ＝1+1'])(
    'neutralises %j, which starts like a formula once leading spaces are trimmed or full-width signs read as ASCII',
    (value) => {
      // Calc's "Trim spaces" turns " =1+1" into a formula; Excel reads full-width ＝＋－＠ typed on a Japanese system as formulas.
      const cell = encodeCsvCell(value)
      expect(cell.startsWith(`"'`)).toBe(true)
      expect(roundTrip([value])[0]?.[0]).toBe(`'${value}`)
    },
  )

  it.each([
    [' \t+1', "' \t'+1"],
    ['\n=1+1', "'\n'=1+1"],
  ])('neutralises %j at its start and after its tab or line break', (value, shown) => {
    expect(encodeCsvCell(value).startsWith(`"'`)).toBe(true)
    expect(roundTrip([value])[0]?.[0]).toBe(shown)
  })

  it('keeps a cell that merely contains = or - further in', () => {
    expect(encodeCsvCell('a=b')).toBe('a=b')
    expect(encodeCsvCell('2026-01-01T00:00:00.000Z')).toBe('2026-01-01T00:00:00.000Z')
  })

  it('replaces control characters and normalises CR so no value can break a row', () => {
    expect(encodeCsvCell('a\u0000b\u001bc\u007f')).toBe('a\uFFFDb\uFFFDc\uFFFD')
    expect(encodeCsvCell('\u0000\u0001')).toBe('\uFFFD\uFFFD')
    expect(encodeCsvCell('a\rb')).toBe('"a\nb"')
    expect(encodeCsvCell('a\r\nb')).toBe('"a\nb"')
  })
})

describe('encodeCsvRow', () => {
  it('round-trips hostile values through a real CSV parser as exactly one row of the same width', () => {
    const hostile = ['x","y', 'a\r\nb\rc\nd', '",=1,"', '日本語, "引用"', '\u0000\u0001', '=cmd|\' /C calc\'!A0']
    const text = encodeCsvRow(hostile) + encodeCsvRow(['tail', '', '', '', '', ''])
    expect(text.endsWith('\r\n')).toBe(true)
    const rows = parse(text) as string[][]
    expect(rows).toHaveLength(2)
    expect(rows[0]).toHaveLength(hostile.length)
    expect(rows[0]?.[0]).toBe('x","y')
    expect(rows[0]?.[1]).toBe('a\nb\nc\nd')
    expect(rows[0]?.[3]).toBe('日本語, "引用"')
    expect(rows[0]?.[5]).toBe("'=cmd|' /C calc'!A0")
    expect(rows[1]?.[0]).toBe('tail')
  })
})
