#!/usr/bin/env bash
# The project's static checks, each reported on its own line as `check NAME: ok|FAILED`:
#   fmt      `deno fmt --check`
#   lint     `deno lint`
#   codegen  regenerating protocol/messages/ from the vendored Kafka specs changes nothing
# Exits non-zero when any check failed. `.ci/run` counts each check as one test.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
DENO="${DENO:-node_modules/.bin/deno}"
failed=0

check() {
  local name=$1
  shift
  local log
  log=$(mktemp)
  if "$@" >"$log" 2>&1; then
    echo "check $name: ok"
  else
    echo "check $name: FAILED"
    tail -n 40 "$log"
    failed=$((failed + 1))
  fi
  rm -f "$log"
}

codegen_unchanged() {
  local out=.ci/.codegen-check
  local status
  rm -rf "$out"
  "$DENO" run --allow-read --allow-write protocol/gen/main.ts protocol/gen/kafka_specs/message "$out" &&
    "$DENO" fmt --quiet "$out" &&
    diff -r protocol/messages "$out"
  status=$?
  rm -rf "$out"
  return "$status"
}

check fmt "$DENO" fmt --check
check lint "$DENO" lint
check codegen codegen_unchanged
exit "$failed"
