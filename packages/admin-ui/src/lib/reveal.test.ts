import { describe, expect, it } from 'vitest'
import { codeLabel, isolated, revealPieces, revealText } from './reveal.js'

describe('revealText: invisible and bidi control characters shown as tokens', () => {
  it('marks bidi embeddings, overrides and isolates instead of applying them', () => {
    expect(revealText('admin\u202Egnp.exe')).toBe('admin⟨U+202E⟩gnp.exe')
    for (const code of [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0x200e, 0x200f, 0x061c]) {
      expect(revealText(`a${String.fromCodePoint(code)}b`)).toBe(`a⟨${codeLabel(code)}⟩b`)
    }
  })

  it('marks zero-width, invisible and blank characters, so that a look-alike does not read as the original', () => {
    expect(revealText('acme\u200B')).toBe('acme⟨U+200B⟩')
    const invisible = [0x200b, 0x200c, 0x200d, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xfeff, 0x00ad, 0x034f, 0x180e, 0x3164, 0x115f, 0x1160, 0xffa0, 0x2800, 0xe0001, 0xe0041, 0xe007f]
    for (const code of invisible) expect(revealText(`x${String.fromCodePoint(code)}y`), codeLabel(code)).toBe(`x⟨${codeLabel(code)}⟩y`)
  })

  it('marks control characters, line separators and a lone surrogate', () => {
    expect(revealText('a\u0000b\u001bc\u007fd\u0085e\u2028f\u2029g\tz\nw')).toBe('a⟨U+0000⟩b⟨U+001B⟩c⟨U+007F⟩d⟨U+0085⟩e⟨U+2028⟩f⟨U+2029⟩g⟨U+0009⟩z⟨U+000A⟩w')
    expect(revealText('x\uD800y')).toBe('x⟨U+D800⟩y')
  })

  it('keeps line breaks of multi-line text (pretty-printed JSON) when asked', () => {
    expect(revealText('{\n  "a": "b\u202E"\n}', { lineBreaks: true })).toBe('{\n  "a": "b⟨U+202E⟩"\n}')
  })

  it('writes supplementary code points with five or six hex digits', () => {
    expect(codeLabel(0xe0041)).toBe('U+E0041')
    expect(codeLabel(0x202e)).toBe('U+202E')
    expect(codeLabel(0xad)).toBe('U+00AD')
  })
})

describe('revealText: legitimate text untouched', () => {
  it('leaves Japanese, Arabic, Hebrew, accented and combining text as it is', () => {
    for (const text of ['佐藤 綾香', '山田　太郎', 'محمد علي', 'דוד כהן', 'Chloé Martin', 'Chloe\u0301 Martin', 'Zoë', 'Ñandú', 'Ayaka Sato']) {
      expect(revealText(text)).toBe(text)
    }
  })

  it('keeps emoji, with ZWJ sequences, skin tones, variation selectors, keycaps and tag flags, as one emoji', () => {
    for (const text of ['👩‍💻', '👩🏽‍💻', '👨‍👩‍👧‍👦', '🏳️‍🌈', '❤️‍🔥', '👁️‍🗨️', '🧑‍🤝‍🧑', '❤️', '1️⃣', '#️⃣', '🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}', 'ship it 🚀']) {
      expect(revealText(text)).toBe(text)
    }
  })

  it('keeps ZWNJ and ZWJ inside a word of a script they shape (Persian, Hindi), marks them elsewhere', () => {
    expect(revealText('می\u200Cخواهم')).toBe('می\u200Cخواهم')
    expect(revealText('क्\u200Dष')).toBe('क्\u200Dष')
    expect(revealText('ac\u200Cme')).toBe('ac⟨U+200C⟩me')
    // A ZWJ not between two emoji is invisible: marked.
    expect(revealText('acme\u200D')).toBe('acme⟨U+200D⟩')
    expect(revealText('👩\u200D')).toBe('👩⟨U+200D⟩')
    expect(revealText('a\u200D👩')).toBe('a⟨U+200D⟩👩')
  })

  it('keeps a variation selector after an emoji or an ideograph, marks one after a Latin letter (it would be invisible)', () => {
    expect(revealText('葛\u{E0100}飾')).toBe('葛\u{E0100}飾')
    expect(revealText('acme\uFE0F')).toBe('acme⟨U+FE0F⟩')
    expect(revealText('7\uFE0F')).toBe('7⟨U+FE0F⟩')
    // Tag characters outside a flag sequence (hidden text) are marked.
    expect(revealText('acme\u{E0068}\u{E0069}')).toBe('acme⟨U+E0068⟩⟨U+E0069⟩')
    expect(revealText('🏴\u{E0067}\u{E0062}')).toBe('🏴⟨U+E0067⟩⟨U+E0062⟩')
    // A black flag and a cancel tag around any other tag run is no subdivision flag (a region and 1-4 letters or
    // digits, lowercase): text hidden in it is marked, or a whole sentence could ride invisibly behind a 🏴.
    const smuggled = '🏴' + [...'Hi there'].map((c) => String.fromCodePoint(0xe0000 + c.codePointAt(0)!)).join('') + '\u{E007F}'
    expect(revealText(smuggled)).toBe('🏴⟨U+E0048⟩⟨U+E0069⟩⟨U+E0020⟩⟨U+E0074⟩⟨U+E0068⟩⟨U+E0065⟩⟨U+E0072⟩⟨U+E0065⟩⟨U+E007F⟩')
  })
})

describe('revealPieces', () => {
  it('splits text into plain runs and marked characters, in order', () => {
    expect(revealPieces('ad\u202Emin\u200B')).toEqual([
      { kind: 'text', text: 'ad' },
      { kind: 'hidden', code: 'U+202E' },
      { kind: 'text', text: 'min' },
      { kind: 'hidden', code: 'U+200B' },
    ])
    expect(revealPieces('')).toEqual([])
    expect(revealPieces('plain')).toEqual([{ kind: 'text', text: 'plain' }])
  })
})

describe('isolated', () => {
  it('wraps text for a plain-text slot (an <option>, a title) in first-strong isolate and pop directional isolate', () => {
    expect(isolated('محمد\u202E')).toBe('\u2068محمد⟨U+202E⟩\u2069')
  })
})
