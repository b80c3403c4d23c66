import type { UnsealedEvent } from '../event/schema.js'

/**
 * A NUL character as a space. Full-text indexes stop reading a text at a NUL (SQLite's FTS5 does), so a NUL in an
 * actor's name would hide the rest of its events' text from `q`; neither the search text nor a term holds one.
 */
export function withoutNul(text: string): string {
  return text.includes('\0') ? text.replaceAll('\0', ' ') : text
}

/**
 * The text the `q` filter searches, lower-cased: actor id/name/email, action, resource type/id/name,
 * target names and the client IP, one per line (so a match never spans two fields), a NUL read as a space.
 * Every store matches `q` as a plain, case-insensitive substring of this text (no wildcards).
 */
export function eventSearchText(event: UnsealedEvent): string {
  const parts: (string | undefined)[] = [
    event.actor.id,
    event.actor.name,
    event.actor.email,
    event.action,
    event.resource.type,
    event.resource.id,
    event.resource.name,
  ]
  for (const target of event.targets ?? []) parts.push(target.name)
  parts.push(event.context?.ip)
  return withoutNul(
    parts
      .filter((part): part is string => part !== undefined && part !== '')
      .join('\n')
      .toLowerCase(),
  )
}

/** Normalises a `q` value the same way as {@link eventSearchText}. */
export function normaliseSearchTerm(q: string): string {
  return withoutNul(q.toLowerCase())
}
