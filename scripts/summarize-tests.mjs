// Prints the whole run's totals as the last line: "N passed, N failed" (", N skipped" when any were skipped).
import { readFileSync } from 'node:fs'

const file = process.argv[2] ?? '.vitest-results.json'
// A failed typecheck counts as one failed check of the run.
const typecheckFailed = (process.argv[3] ?? '0') !== '0' ? 1 : 0
let results
try {
  results = JSON.parse(readFileSync(file, 'utf8'))
} catch (error) {
  console.log(`could not read ${file}: ${error.message}`)
  console.log('0 passed, 1 failed')
  process.exit(1)
}
const failedSuites = results.testResults.filter((suite) => suite.status === 'failed' && suite.assertionResults.length === 0).length
const passed = results.numPassedTests
const failed = results.numFailedTests + failedSuites + typecheckFailed
const skipped = results.numPendingTests + results.numTodoTests
console.log(skipped > 0 ? `${passed} passed, ${failed} failed, ${skipped} skipped` : `${passed} passed, ${failed} failed`)
