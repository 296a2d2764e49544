#!/usr/bin/env bash
# Regenerates the Go stubs from protos/ into clients/go/cachecar/v1 (package
# cachecarv1, the protos' go_package). protoc is grpcio-tools' (the same libprotoc as the Python stubs);
# the plugins are pinned here and installed from the Go module proxy into
# $(go env GOPATH)/bin, outside the repo. CI runs this and fails on any diff.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
PROTOC_GEN_GO=v1.36.12       # google.golang.org/protobuf
PROTOC_GEN_GO_GRPC=v1.6.2    # google.golang.org/grpc/cmd/protoc-gen-go-grpc
MODULE=github.com/cachecar/cachecar/clients/go

BIN="$(go env GOPATH)/bin"
have() { [[ -x $BIN/$1 ]] && go version -m "$BIN/$1" 2>/dev/null | grep -q "mod.*$2"; }
have protoc-gen-go "$PROTOC_GEN_GO" \
  || go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO"
have protoc-gen-go-grpc "$PROTOC_GEN_GO_GRPC" \
  || go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC"

rm -f clients/go/cachecar/v1/*.pb.go
"$PY" -m grpc_tools.protoc -Iprotos \
  --plugin=protoc-gen-go="$BIN/protoc-gen-go" --plugin=protoc-gen-go-grpc="$BIN/protoc-gen-go-grpc" \
  --go_out=clients/go --go_opt=module="$MODULE" \
  --go-grpc_out=clients/go --go-grpc_opt=module="$MODULE" \
  protos/cachecar/v1/*.proto
