import { DEMO_CREDENTIALS } from './domain/demo-data.js'
import { DEMO_SIGN_IN_PATH } from './sign-in.js'
import { startDemo, startFailureMessage, type RunningDemo } from './start.js'

let demo: RunningDemo
try {
  demo = await startDemo()
} catch (error) {
  console.error(`AuditKit demo could not start: ${startFailureMessage(error)}`)
  process.exit(1)
}
const line = '-'.repeat(72)
console.log(line)
console.log(`AuditKit demo API (${demo.framework}) listening on ${demo.url}`)
console.log(`Audit log: ${demo.storeDescription}${demo.seeded > 0 ? ` (seeded ${demo.seeded} events)` : ''}`)
console.log('Bearer tokens:')
for (const credential of DEMO_CREDENTIALS) console.log(`  ${credential.token.padEnd(30)} ${credential.description}`)
console.log('Try:')
console.log(`  curl -X POST ${demo.url}/workspaces/acme/projects -H 'Authorization: Bearer demo-owner-token' -H 'Content-Type: application/json' -d '{"name":"Apollo"}'`)
console.log(`Admin page (signs you in as the owner of acme): ${demo.url}${DEMO_SIGN_IN_PATH}?token=demo-owner-token`)
console.log('Walkthrough: docs/demo.md')
console.log(line)

let stopping = false
const stop = (): void => {
  if (stopping) return
  stopping = true
  demo.close().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error)
      process.exit(1)
    },
  )
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
