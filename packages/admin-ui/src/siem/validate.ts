import type { Messages } from '../i18n/messages.js'

// RFC 9110 token characters: what a header name may contain.
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

export type HeadersCheck = { ok: true; headers: Record<string, string> } | { ok: false; error: string }

/** Parses the headers field as the user types: a JSON object of string values with valid names and no line breaks. */
export function checkHeaders(text: string, t: Messages): HeadersCheck {
  if (text.trim() === '') return { ok: true, headers: {} }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    return { ok: false, error: t.headersNotJson(error instanceof Error ? error.message : String(error)) }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ok: false, error: t.headersNotObject }
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(parsed)) {
    if (!HEADER_NAME.test(name)) return { ok: false, error: t.headersBadName(name) }
    if (typeof value !== 'string') return { ok: false, error: t.headersNotString(name) }
    if (/[\r\n]/.test(value)) return { ok: false, error: t.headersNewline(name) }
    headers[name] = value
  }
  return { ok: true, headers }
}

/** An absolute http(s) URL; the API checks the rest (endpoint policy, path per protocol). */
export function checkEndpoint(text: string, enabled: boolean, t: Messages): string | null {
  const value = text.trim()
  if (value === '') return enabled ? t.endpointRequired : null
  try {
    const url = new URL(value)
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') return t.endpointInvalid
  } catch {
    return t.endpointInvalid
  }
  return null
}
