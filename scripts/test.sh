#!/usr/bin/env bash
# Set everything up and run the whole test suite (unit and integration; integration needs root).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
cd "$root"
npx tsc --noEmit -p .
npx vitest run "$@"
