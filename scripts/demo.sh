#!/bin/sh
# Installs the workspace and starts the demo API with AuditKit mounted (SQLite under ./data; MONGODB_URI switches store).
set -eu
cd "$(dirname "$0")/.."
PNPM="npx -y pnpm@10.34.9"
export TURBO_TELEMETRY_DISABLED=1
$PNPM install --frozen-lockfile
$PNPM run build
exec $PNPM --filter @auditkit/demo start
