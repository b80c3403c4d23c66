#!/usr/bin/env node
// The `auditkit` command: verify chains, export them as NDJSON, make signing keys. See docs/integrity.md.
import { runCli } from './run.js'

runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
  (code) => {
    process.exitCode = code
  },
  () => {
    process.exitCode = 3
  },
)
