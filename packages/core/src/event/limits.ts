/** Upper bounds on event sizes. Values over a bound are rejected, never silently truncated. */
export interface EventLimits {
  /**
   * Longest identifier (tenant, actor, resource and target ids, request id).
   * @default 256
   */
  maxIdLength: number
  /**
   * Longest free-text value (names, emails, user agent, path).
   * @default 2048
   */
  maxTextLength: number
  /**
   * Most entries in `targets`.
   * @default 100
   */
  maxTargets: number
  /**
   * Largest `changes` object, as UTF-8 JSON bytes.
   * @default 65536
   */
  maxChangesBytes: number
  /**
   * Largest `metadata` object, as UTF-8 JSON bytes.
   * @default 8192
   */
  maxMetadataBytes: number
  /**
   * Deepest nesting inside `changes` and `metadata`.
   * @default 16
   */
  maxDepth: number
}

export const DEFAULT_EVENT_LIMITS: EventLimits = {
  maxIdLength: 256,
  maxTextLength: 2048,
  maxTargets: 100,
  maxChangesBytes: 64 * 1024,
  maxMetadataBytes: 8 * 1024,
  maxDepth: 16,
}
