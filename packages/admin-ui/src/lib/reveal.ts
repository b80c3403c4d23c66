// Display-only escaping of characters an attacker can hide in event fields. The stored value is never changed: the
// page filters, links and copies with the real value; only what is drawn on the screen shows the hidden characters.

/** A run of text as it is, or one character shown as its code point (`U+202E`) instead of being applied. */
export type Piece = { kind: 'text'; text: string } | { kind: 'hidden'; code: string }

export interface RevealOptions {
  /** Keep line feeds (pretty-printed JSON, multi-line notes in the panel); otherwise they are marked like the rest. */
  lineBreaks?: boolean
}

/**
 * Characters that change nothing visible, or change the order or joining of what is around them: controls, format
 * characters (bidi embeddings, overrides and isolates, LRM/RLM, zero-width space and joiners, word joiner, BOM, soft
 * hyphen, tag characters), line and paragraph separators, lone surrogates, every default-ignorable code point
 * (variation selectors, the combining grapheme joiner, Hangul fillers) and the blank Braille pattern. The same classes
 * as `auditkit verify`'s escaping, minus the plain spaces: U+3000 and NBSP are ordinary in Japanese and French names.
 */
const SUSPECT = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}\u2800]/u

const ZWNJ = 0x200c
const ZWJ = 0x200d
const KEYCAP = 0x20e3
const BLACK_FLAG = 0x1f3f4
const CANCEL_TAG = 0xe007f

const EMOJI = /^[\p{Extended_Pictographic}\p{Emoji_Modifier}\uFE0F]$/u
const PICTOGRAPH = /^\p{Extended_Pictographic}$/u
const KEYCAP_BASE = /^[#*0-9]$/
const HAN = /^\p{Script=Han}$/u
const MONGOLIAN = /^\p{Script=Mongolian}$/u
/**
 * Scripts whose shaping ZWJ and ZWNJ change visibly inside a word (Persian's ZWNJ, Indic conjuncts), so there they are
 * spelling, not a trick. Between Latin letters or at a word's end they draw nothing and are marked.
 */
const JOINING = /^[\p{Script=Arabic}\p{Script=Syriac}\p{Script=Nko}\p{Script=Mongolian}\p{Script=Devanagari}\p{Script=Bengali}\p{Script=Gurmukhi}\p{Script=Gujarati}\p{Script=Oriya}\p{Script=Tamil}\p{Script=Telugu}\p{Script=Kannada}\p{Script=Malayalam}\p{Script=Sinhala}]$/u

function is(pattern: RegExp, char: string | undefined): boolean {
  return char !== undefined && pattern.test(char)
}

/**
 * Whether a suspect character is doing a visible job where it stands, so that marking it would break legitimate
 * text: the ZWJ inside an emoji sequence (👩‍💻), an emoji or keycap variation selector (❤️, 1️⃣), an ideographic
 * variation selector (葛󠄀), a Mongolian free variation selector, ZWJ/ZWNJ inside a word of a script they shape.
 */
function legitimate(code: number, previous: string | undefined, next: string | undefined): boolean {
  if (code === ZWJ && is(EMOJI, previous) && is(PICTOGRAPH, next)) return true
  if ((code === ZWJ || code === ZWNJ) && is(JOINING, previous) && is(JOINING, next)) return true
  if (code === 0xfe0e || code === 0xfe0f) {
    if (is(PICTOGRAPH, previous)) return true
    return is(KEYCAP_BASE, previous) && next?.codePointAt(0) === KEYCAP
  }
  if ((code >= 0xfe00 && code <= 0xfe0d) || (code >= 0xe0100 && code <= 0xe01ef)) return is(HAN, previous)
  if ((code >= 0x180b && code <= 0x180d) || code === 0x180f) return is(MONGOLIAN, previous)
  return false
}

/**
 * The length (in code points) of a subdivision flag's tag run after 🏴 at `start` (🏴󠁧󠁢󠁳󠁣󠁴󠁿), or 0 when there is none. A
 * subdivision id is a region and 1-4 letters or digits, in tag lowercase letters and digits (3-6 tags): any other run
 * between 🏴 and the cancel tag is text hidden behind the flag, and is marked.
 */
function flagTagRun(chars: readonly string[], start: number): number {
  let end = start
  while (end < chars.length && end - start <= 6) {
    const code = chars[end]?.codePointAt(0) ?? 0
    if (code === CANCEL_TAG) return end - start >= 3 ? end - start + 1 : 0
    if (!((code >= 0xe0030 && code <= 0xe0039) || (code >= 0xe0061 && code <= 0xe007a))) return 0
    end++
  }
  return 0
}

/** `U+202E`, `U+00AD`, `U+E0041`: how a hidden character is named on the page. */
export function codeLabel(code: number): string {
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`
}

/** Untrusted text as runs to draw as they are and characters to draw as marked tokens. */
export function revealPieces(text: string, options: RevealOptions = {}): Piece[] {
  // Array.from splits by code point; a lone surrogate comes out alone and is marked (\p{Cs}).
  const chars = Array.from(text)
  const pieces: Piece[] = []
  let run = ''
  for (let i = 0; i < chars.length; i++) {
    const char = chars[i] as string
    const code = char.codePointAt(0) ?? 0
    if (code === BLACK_FLAG) {
      const tags = flagTagRun(chars, i + 1)
      run += chars.slice(i, i + 1 + tags).join('')
      i += tags
      continue
    }
    const kept = !SUSPECT.test(char) || (options.lineBreaks === true && char === '\n') || legitimate(code, chars[i - 1], chars[i + 1])
    if (kept) {
      run += char
      continue
    }
    if (run !== '') pieces.push({ kind: 'text', text: run })
    run = ''
    pieces.push({ kind: 'hidden', code: codeLabel(code) })
  }
  if (run !== '') pieces.push({ kind: 'text', text: run })
  return pieces
}

/** The marked form as plain text, `⟨U+202E⟩`: for slots that cannot hold markup (`<option>`, `title`, `aria-label`). */
export function revealText(text: string, options: RevealOptions = {}): string {
  return revealPieces(text, options)
    .map((piece) => (piece.kind === 'text' ? piece.text : `⟨${piece.code}⟩`))
    .join('')
}

/**
 * Revealed text wrapped in FSI … PDI, the plain-text form of `<bdi>`: in an `<option>` or a tooltip a right-to-left
 * name keeps its own direction without reordering the count or the type written after it.
 */
export function isolated(text: string): string {
  return `\u2068${revealText(text)}\u2069`
}
