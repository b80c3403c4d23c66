import { useI18n } from '../i18n/i18n.js'
import { type RevealOptions, revealPieces } from '../lib/reveal.js'

/**
 * Text from an event (names, ids, metadata, user agents: anything the audited app's users can write). Drawn in a
 * `<bdi>`, so that a right-to-left name keeps its direction without reordering the text around it, and with every
 * invisible or bidi control character shown as a marked token instead of applied (see lib/reveal.ts). Display only:
 * the value used for filtering, links and copying is the stored one.
 */
export function Untrusted(props: {
  text: string
  class?: string | undefined
  /** `ltr` for JSON and paths, whose syntax reads left to right whatever the names in it; else the text's own (`auto`). */
  dir?: 'ltr' | 'auto'
} & RevealOptions) {
  const { text, class: className, dir = 'auto', lineBreaks = false } = props
  const options: RevealOptions = { lineBreaks }
  return (
    <bdi class={className} dir={dir}>
      {revealPieces(text, options).map((piece, index) => (piece.kind === 'text' ? piece.text : <HiddenChar key={index} code={piece.code} />))}
    </bdi>
  )
}

/** One hidden character as a badge, named for assistive technology ("invisible character U+202E"). */
function HiddenChar({ code }: { code: string }) {
  const { t } = useI18n()
  // role="img": the badge is read as its name, once, rather than as the brackets and digits it draws.
  return (
    <span class="hidden-char" role="img" aria-label={t.hiddenChar(code)} title={t.hiddenCharHint(code)}>
      ⟨{code}⟩
    </span>
  )
}
