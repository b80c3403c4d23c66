import type { JsonValue } from '../event/schema.js'

/** Key names redacted by default, matched case-insensitively ignoring `-`, `_`, `.` and whitespace, anywhere in a key. */
export const DEFAULT_REDACT_KEYS = ['password', 'passwd', 'token', 'secret', 'apiKey', 'authorization', 'cookie', 'set-cookie'] as const

export const REDACTED = '[REDACTED]'

export interface RedactionOptions {
  /**
   * Key names whose values are replaced at any depth. A key matches when its normalised form
   * (lower case, without `-`, `_`, `.` and whitespace) contains a normalised entry, so `apiKey` also catches `x-api-key`.
   * @default DEFAULT_REDACT_KEYS
   */
  keys?: readonly string[]
  /**
   * Further key names, added to `keys`.
   * @default []
   */
  extraKeys?: readonly string[]
  /**
   * The value written instead of a secret.
   * @default '[REDACTED]'
   */
  replacement?: string
}

const normalise = (key: string): string => key.toLowerCase().replace(/[-_.\s]/g, '')

/** Whether a key (or a route parameter's name) names a secret under these options. */
function createSecretKeyMatcher(options: RedactionOptions = {}): (key: string) => boolean {
  const needles = [...(options.keys ?? DEFAULT_REDACT_KEYS), ...(options.extraKeys ?? [])].map(normalise).filter(Boolean)
  const cache = new Map<string, boolean>()
  return (key) => {
    let hit = cache.get(key)
    if (hit === undefined) {
      const n = normalise(key)
      hit = needles.some((needle) => n.includes(needle))
      if (cache.size < 10_000) cache.set(key, hit)
    }
    return hit
  }
}

/** One set of redaction options, resolved: the deep redactor, the key test it uses, and the replacement it writes. */
export interface Redaction {
  redact: <T extends JsonValue | undefined>(value: T) => T
  isSecretKey: (key: string) => boolean
  replacement: string
}

/** Builds a function that returns a redacted deep copy; the input is never mutated. */
export function createRedactor(options: RedactionOptions = {}): <T extends JsonValue | undefined>(value: T) => T {
  return createRedaction(options).redact
}

/** The redactor with its key test and replacement, for a caller that also applies the rule elsewhere (route params). */
export function createRedaction(options: RedactionOptions = {}): Redaction {
  const replacement = options.replacement ?? REDACTED
  const isSecret = createSecretKeyMatcher(options)
  const walk = (value: JsonValue): JsonValue => {
    if (Array.isArray(value)) return value.map(walk)
    if (value !== null && typeof value === 'object') {
      const out: { [key: string]: JsonValue } = {}
      for (const [key, child] of Object.entries(value)) {
        const copy = isSecret(key) ? replacement : walk(child)
        // An own "__proto__" key (JSON.parse makes one) stays a key: assignment would set the copy's prototype instead.
        if (key === '__proto__') Object.defineProperty(out, key, { value: copy, enumerable: true, writable: true, configurable: true })
        else out[key] = copy
      }
      return out
    }
    return value
  }
  const redact = <T extends JsonValue | undefined>(value: T): T => (value === undefined ? value : (walk(value) as T))
  return { redact, isSecretKey: isSecret, replacement }
}
