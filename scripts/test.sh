#!/bin/sh
# Installs everything and runs every test of the workspace in one Vitest run, then prints "N passed, N failed".
set -eu
cd "$(dirname "$0")/.."
PNPM="npx -y pnpm@10.34.9"
export TURBO_TELEMETRY_DISABLED=1

$PNPM install --frozen-lockfile

# The admin page is tested in a real browser: Debian's Chromium (no browser download is possible here).
if ! command -v chromium >/dev/null 2>&1 && [ -z "${AUDITKIT_CHROMIUM:-}" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian's chromium for the browser tests..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || echo "warning: could not install chromium; the browser tests will fail"
    APT_UPDATED=1
  else
    echo "warning: chromium is not installed (apt-get install chromium); the browser tests will fail"
  fi
fi

# The CSV export is opened in a real spreadsheet: Debian's LibreOffice Calc, headless (test/e2e-csv-spreadsheet.test.ts).
if ! command -v soffice >/dev/null 2>&1 && [ -z "${AUDITKIT_SOFFICE:-}" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian's libreoffice-calc-nogui for the spreadsheet test..."
    ( ([ -n "${APT_UPDATED:-}" ] || apt-get update -qq) &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libreoffice-calc-nogui >/dev/null) ||
      echo "warning: could not install libreoffice-calc-nogui; the spreadsheet test will fail"
  else
    echo "warning: LibreOffice is not installed (apt-get install --no-install-recommends libreoffice-calc-nogui); the spreadsheet test will fail"
  fi
fi

$PNPM run build

status=0
$PNPM exec vitest run --reporter=default --reporter=json --outputFile=.vitest-results.json || status=$?

# Type errors fail the run too: every package and the cross-package tests, strict.
typecheck=0
$PNPM run typecheck > .typecheck.log 2>&1 || typecheck=$?
if [ "$typecheck" -ne 0 ]; then
  grep -E "error TS|ERROR" .typecheck.log | head -50
  echo "typecheck: FAILED (full log in .typecheck.log)"
  status=1
else
  echo "typecheck: ok"
fi

node scripts/summarize-tests.mjs .vitest-results.json "$typecheck"
exit $status
