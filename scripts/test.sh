#!/usr/bin/env bash
# Set everything up and run the whole test suite (unit and integration; integration needs root).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
cd "$root"
npx tsc --noEmit -p .
report=$(mktemp)
status=0
KEMU_TEST_SWEEP=1 npx vitest run --reporter=default --reporter=json --outputFile="$report" "$@" || status=$?
# One plain closing line with the counts, whatever the runner printed above.
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
' "$report" || true
rm -f "$report"
exit "$status"
