#!/usr/bin/env bash
# Regenerates the Java stubs from protos/ into clients/java/src/main/java
# (package dev.cachecar.v1, the protos' java_package; one class per message). grpcio-tools' protoc has no Java generator, so protoc
# itself and protoc-gen-grpc-java come from Maven Central (through mvn, into
# ~/.m2 and a cache dir outside the repo), pinned to the same libprotoc 31.1
# as the Python and Go stubs. CI runs this and fails on any diff.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
PROTOC_VERSION=4.31.1      # com.google.protobuf:protoc (libprotoc 31.1)
GRPC_JAVA_VERSION=1.76.0   # io.grpc:protoc-gen-grpc-java
case "$(uname -m)" in x86_64) ARCH=x86_64 ;; aarch64 | arm64) ARCH=aarch_64 ;; *) ARCH=$(uname -m) ;; esac
case "$(uname -s)" in Linux) OS=linux ;; Darwin) OS=osx ;; *) OS=$(uname -s) ;; esac
TOOLS="${XDG_CACHE_HOME:-$HOME/.cache}/cachecar/protoc-plugins"
PROTOC="$TOOLS/protoc-$PROTOC_VERSION-$OS-$ARCH.exe"
PLUGIN="$TOOLS/protoc-gen-grpc-java-$GRPC_JAVA_VERSION-$OS-$ARCH.exe"
fetch() {
  [[ -x $2 ]] && return
  mvn -q dependency:copy -Dartifact="$1:exe:$OS-$ARCH" -DoutputDirectory="$TOOLS"
  chmod +x "$2"
}
fetch "com.google.protobuf:protoc:$PROTOC_VERSION" "$PROTOC"
fetch "io.grpc:protoc-gen-grpc-java:$GRPC_JAVA_VERSION" "$PLUGIN"

# google/protobuf/*.proto (Duration, Timestamp): the copies grpcio-tools ships.
WKT="$("$PY" -c 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))')"
OUT=clients/java/src/main/java
rm -rf "$OUT/dev/cachecar/v1"
mkdir -p "$OUT"
# @generated=omit: no javax.annotation.Generated, so no extra dependency.
"$PROTOC" -Iprotos -I"$WKT" \
  --plugin=protoc-gen-grpc-java="$PLUGIN" \
  --java_out="$OUT" --grpc-java_out=@generated=omit:"$OUT" \
  protos/cachecar/v1/*.proto
