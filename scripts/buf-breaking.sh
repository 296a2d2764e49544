#!/usr/bin/env bash
# `make lint`: buf breaking, protos/ against the previous commit (HEAD~1; on
# main, the previous commit on main), so a change that would break generated
# clients or the wire (a renamed field, a removed RPC or reason) fails CI.
# Skipped, with a note, only when there is nothing to compare with: no HEAD~1
# (the first commit, a shallow clone its remote cannot deepen, not a git
# checkout) or a HEAD~1 without protos/.
set -euo pipefail
cd "$(dirname "$0")/.."
BUF="${BUF:-$PWD/.venv/bin/buf}"

previous() { git rev-parse --verify --quiet 'HEAD~1^{commit}' 2>/dev/null; }
# A shallow CI checkout (depth 1) lacks HEAD~1: fetch one more commit if the
# remote answers, rather than skip the check.
if ! previous >/dev/null && [[ $(git rev-parse --is-shallow-repository 2>/dev/null) == true ]]; then
  timeout 120 git fetch --quiet --deepen=1 2>/dev/null || true
fi
if ! base="$(previous)"; then
  echo "buf breaking: skipped, no previous commit to compare protos/ with (first commit, shallow clone or no git)"
  exit 0
fi
if ! git cat-file -e "$base:protos" 2>/dev/null; then
  echo "buf breaking: skipped, the previous commit ${base:0:12} has no protos/"
  exit 0
fi
# buf reads the old protos by cloning this repository at that commit.
cd protos
"$BUF" breaking --against "../.git#ref=$base,subdir=protos"
echo "buf breaking: protos/ is compatible with ${base:0:12}"
