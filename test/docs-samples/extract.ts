import { readFileSync } from 'node:fs'

/** A fenced TypeScript block of a markdown file. */
export interface DocsSample {
  /** The markdown file, relative to the repository root. */
  file: string
  /** 1-based position among the file's TypeScript blocks. */
  index: number
  /** 1-based line of the markdown file that holds the block's first line of code. */
  line: number
  code: string
  /** From a `<!-- docs-sample: skip (why) -->` comment right before the fence. */
  skip: string | null
  /** From a `<!-- docs-sample: prelude a, b -->` comment right before the fence. */
  preludes: string[]
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/
const DIRECTIVE = /^<!--\s*docs-sample:\s*(.*?)\s*-->$/

/** The ```ts / ```typescript blocks of one markdown file, with the directives of the comments right before them. */
export function extractSamples(file: string, text: string = readFileSync(file, 'utf8')): DocsSample[] {
  const lines = text.split('\n')
  const samples: DocsSample[] = []
  let pending: string[] = []
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? ''
    const trimmed = raw.trim()
    const directive = DIRECTIVE.exec(trimmed)
    if (directive) {
      pending.push(directive[1] ?? '')
      continue
    }
    const fence = FENCE.exec(raw)
    if (!fence) {
      if (trimmed !== '') pending = []
      continue
    }
    const marker = fence[2] ?? '```'
    const lang = (fence[3] ?? '').toLowerCase()
    const start = i + 1
    let end = start
    while (end < lines.length && !(lines[end] ?? '').trim().startsWith(marker)) end++
    if (lang === 'ts' || lang === 'typescript') {
      let skip: string | null = null
      const preludes: string[] = []
      for (const d of pending) {
        const s = /^skip\b\s*(.*)$/.exec(d)
        const p = /^prelude\s+(.+)$/.exec(d)
        if (s) skip = s[1]?.replace(/^\((.*)\)$/, '$1') || 'no reason given'
        else if (p) preludes.push(...(p[1] ?? '').split(',').map((n) => n.trim()).filter(Boolean))
        else throw new Error(`${file}:${i}: unknown docs-sample directive "${d}"`)
      }
      samples.push({ file, index: samples.length + 1, line: start + 1, code: lines.slice(start, end).join('\n'), skip, preludes })
    }
    pending = []
    i = end
  }
  return samples
}
