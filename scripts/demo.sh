#!/bin/sh
# Installs the workspace and starts the demo API with AuditKit mounted (SQLite under ./data; MONGODB_URI switches store).
set -eu
cd "$(dirname "$0")/.."
PNPM="npx -y pnpm@10.34.9"
export TURBO_TELEMETRY_DISABLED=1
$PNPM install --frozen-lockfile
$PNPM run build
# Started by exec, not through pnpm (its `sh -c` chain does not pass SIGTERM on): stopping `npm run demo` stops the
# demo itself, which writes what is queued before it exits. From apps/demo, for its tsconfig (NestJS decorators).
cd apps/demo
exec node --conditions=source --import tsx src/main.ts
