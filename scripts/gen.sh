#!/usr/bin/env bash
# Regenerates the Python stubs from protos/ into clients/python/src/cachecar/v1.
# Pinned generator versions live in pyproject.toml's dev extra; CI runs this and
# fails on any diff, so generated code is never edited by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
OUT=clients/python/src
rm -f "$OUT"/cachecar/v1/*_pb2*.py "$OUT"/cachecar/v1/*_pb2*.pyi "$OUT"/cachecar/v1/descriptors.binpb
"$PY" -m grpc_tools.protoc -Iprotos \
  --python_out="$OUT" --grpc_python_out="$OUT" \
  --mypy_out="$OUT" --mypy_grpc_out="$OUT" \
  protos/cachecar/v1/*.proto
# The same files with their comments, for server reflection (sidecar/reflection.py):
# the generated *_pb2 modules drop source info, grpcurl describe shows it from here.
"$PY" -m grpc_tools.protoc -Iprotos --include_source_info \
  --descriptor_set_out="$OUT/cachecar/v1/descriptors.binpb" protos/cachecar/v1/*.proto
printf '"""Generated gRPC stubs for the cachecar.v1 API (make gen; never edit by hand)."""\n' \
  > "$OUT/cachecar/v1/__init__.py"
