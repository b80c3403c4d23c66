/**
 * Shared by the tests that need a real MongoDB server. They run only when MONGODB_URI is set (no server can be
 * installed on the machines AuditKit is developed on); otherwise they are skipped with a loud warning.
 */
export const MONGODB_URI = process.env.MONGODB_URI ?? ''

/** Warns, once per test file, what is skipped and how to run it. */
export function warnSkipped(what: string): void {
  const line = '!'.repeat(100)
  console.warn(
    [
      line,
      `!! SKIPPED: ${what}`,
      '!! These tests need a real MongoDB server (a replica set, or a standalone server for a quick run) and MONGODB_URI is not set.',
      '!! Run them with, for example:',
      '!!   MONGODB_URI="mongodb://127.0.0.1:27017/?directConnection=true" pnpm exec vitest run --project @auditkit/core test/mongodb-',
      '!! They create and drop databases named auditkit_test_*.',
      line,
    ].join('\n'),
  )
}

/** A database name no other run uses. */
export function uniqueDatabase(purpose: string): string {
  return `auditkit_test_${purpose}_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`
}
