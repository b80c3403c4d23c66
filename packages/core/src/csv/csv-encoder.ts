/**
 * Leading characters a spreadsheet runs as a formula (OWASP "CSV Injection"), also behind leading whitespace (Calc's
 * "Trim spaces" import option strips it) and in their full-width forms (Excel on a Japanese system reads ＝＋－＠ as
 * the ASCII signs).
 */
const FORMULA_START = /^(?:[\t\r]|\s*[=+\-@\uFF1D\uFF0B\uFF0D\uFF20])/
/** C0 controls other than tab, LF and CR, plus DEL: they have no business in a cell and some readers choke on them. */
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]/g
// eslint-disable-next-line no-control-regex
const HAS_CONTROL_CHAR = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]/
// `;` too: Excel in locales whose list separator is `;` (German, French) splits an unquoted `x;=1+1` into a second
// cell that starts with `=` (OWASP lists the separator as a vector). Tab and space too (the other separators Calc's
// and Excel's import dialogs offer): a tab anywhere, a space only before a formula sign, so that `x\t=1+1` or
// `x =1+1` stays one cell in a reader that splits on them and on `,`. (One that splits only on `;` or tab reads a
// later column's opening quote as text: see INNER_FORMULA.)
const NEEDS_QUOTES = /[",;\t\r\n]|\s[=+\-@\uFF1D\uFF0B\uFF0D\uFF20]/
/** Anything that needs work below; most cells have none of it, and one test lets them through unchanged. */
// eslint-disable-next-line no-control-regex
const NEEDS_WORK = /^\s*[=+\-@\uFF1D\uFF0B\uFF0D\uFF20]|[\x00-\x1F\x7F",;]|\s[=+\-@\uFF1D\uFF0B\uFF0D\uFF20]/
/**
 * A `;`, tab or line break inside a cell that a formula sign follows (blanks and quotes between allowed). A reader
 * that splits only on `;` (Excel in German or French locales) or only on tab reads a quote that opens a later
 * column's cell as text, so quoting cannot keep such a sign inside its cell: it starts a field of its own (and after a
 * line break, a row of its own). A `'` right after the separator makes that field text. Spaces are not on the list:
 * `Phase 1 - Phase 2` is common and a reader splitting only on spaces is not (a space before a sign is quoted, which
 * covers readers that also split on `,`).
 */
const INNER_FORMULA = /([;\t\n])(?=[\s"]*[=+\-@\uFF1D\uFF0B\uFF0D\uFF20])/g
const INNER_SEPARATOR = /[;\t\n]/
const CR_OR_CRLF = /\r\n?/g
const QUOTE = /"/g

/** Row separator per RFC 4180. */
export const CSV_ROW_END = '\r\n'
/** UTF-8 byte order mark, so that Excel reads the file as UTF-8 (Japanese text). */
export const UTF8_BOM = '\uFEFF'

/**
 * One CSV field: RFC 4180 quoting; a value that starts like a formula is prefixed with `'` and quoted (OWASP), and
 * so is what follows a `;`, tab or line break inside it when a formula sign does; control characters become U+FFFD and line breaks
 * become LF inside the quotes, so no value can end a row or a field early.
 */
export function encodeCsvCell(value: string): string {
  if (!NEEDS_WORK.test(value)) return value
  const formula = FORMULA_START.test(value)
  let text = value
  if (HAS_CONTROL_CHAR.test(text)) text = text.replace(CONTROL_CHARS, '\uFFFD')
  // A bare CR starts a new row in some readers even inside quotes; LF alone is a line break within a cell.
  if (text.includes('\r')) text = text.replace(CR_OR_CRLF, '\n')
  if (INNER_SEPARATOR.test(text)) text = text.replace(INNER_FORMULA, "$1'")
  if (formula) return `"'${text.replace(QUOTE, '""')}"`
  if (NEEDS_QUOTES.test(text)) return `"${text.replace(QUOTE, '""')}"`
  return text
}

/** One CSV row including its CRLF terminator. */
export function encodeCsvRow(values: readonly string[]): string {
  let row = ''
  for (let i = 0; i < values.length; i++) {
    if (i > 0) row += ','
    row += encodeCsvCell(values[i] ?? '')
  }
  return row + CSV_ROW_END
}
