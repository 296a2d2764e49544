#!/usr/bin/env bash
# Regenerates the Python stubs from protos/ into clients/python/src/cachecar/v1.
# Pinned generator versions live in pyproject.toml's dev extra; CI runs this and
# fails on any diff, so generated code is never edited by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
OUT=clients/python/src
rm -f "$OUT"/cachecar/v1/*_pb2*.py "$OUT"/cachecar/v1/*_pb2*.pyi
"$PY" -m grpc_tools.protoc -Iprotos \
  --python_out="$OUT" --grpc_python_out="$OUT" \
  --mypy_out="$OUT" --mypy_grpc_out="$OUT" \
  protos/cachecar/v1/*.proto
printf '"""Generated gRPC stubs for the cachecar.v1 API (make gen; never edit by hand)."""\n' \
  > "$OUT/cachecar/v1/__init__.py"
