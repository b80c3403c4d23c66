/**
 * Whether two texts are the same as a UTF-8 store (SQLite text, BSON) keeps them: a lone UTF-16 surrogate, valid in a
 * JavaScript string and in JSON, becomes U+FFFD there, while the hashed event's JSON keeps what was recorded.
 */
export function sameStoredText(a: string, b: string): boolean {
  return a === b || Buffer.from(a).equals(Buffer.from(b))
}
