#!/usr/bin/env bash
# A real Jaeger for the end-to-end tracing check (`make jaeger-e2e`).
#
#   scripts/jaeger.sh install   build the pinned Jaeger into .cache/jaeger/bin (no-op if there)
#   scripts/jaeger.sh run       start it in the background; prints its PID, logs to $JAEGER_LOG
#   scripts/jaeger.sh exec      run it in the foreground (for test harnesses that own the process)
#
# Which Jaeger: v2.13.0, the image deploy/compose and deploy/kubernetes/jaeger
# run. Jaeger v2 lives in the same Go module as v1 (github.com/jaegertracing/jaeger,
# no /v2 suffix), so each v2.x.y release is also tagged v1.(x+63).y for Go;
# the module's CHANGELOG.md heads that release "v1.76.0 / v2.13.0 (2025-12-03)".
#
# Why a scratch module: Jaeger ships no release binaries we can fetch here, only
# its Go module, and `go install pkg@version` refuses a module whose go.mod has a
# replace directive (every release since v1.49.0 has one, for
# github.com/Shopify/sarama). Required as a tool of a throwaway main module
# (`go get -tool`, Go >= 1.24), the same package builds; that replace is copied
# into the scratch go.mod so the build resolves what upstream's does. The
# scratch module lives in .cache/jaeger/build (ignored by git); modules and the
# build cache are Go's defaults. No UI assets in a source build: the APIs serve.
#
# Every listener comes from scripts/jaeger.yaml: 127.0.0.1 only, ports from the
# JAEGER_*_PORT variables (defaults are Jaeger's usual ones).
set -euo pipefail

JAEGER_MODULE=github.com/jaegertracing/jaeger
JAEGER_VERSION=v1.76.0     # Go module version of the Jaeger v2.13.0 release
JAEGER_RELEASE=v2.13.0     # what `jaeger version` reports (upstream sets it the same way)
SARAMA_REPLACE=github.com/Shopify/sarama=github.com/Shopify/sarama@v1.33.0  # from Jaeger's go.mod
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CONFIG=$ROOT/scripts/jaeger.yaml
BUILD_DIR=$ROOT/.cache/jaeger/build
BIN_DIR=$ROOT/.cache/jaeger/bin
BIN=$BIN_DIR/jaeger

installed() {
    # The module version is embedded in the binary, so a bumped pin rebuilds.
    # `go version -m` names Jaeger's module as "mod" (it holds the main
    # package), not the scratch module that required it.
    local info
    [[ -x $BIN ]] && info=$(go version -m "$BIN" 2>/dev/null) || return 1
    grep -Eq "^\s+mod\s+$JAEGER_MODULE\s+$JAEGER_VERSION(\s|$)" <<<"$info"
}

need_go() {
    # `go get -tool` (and a tool directive in go.mod) arrived in Go 1.24.
    local v
    v=$(go env GOVERSION 2>/dev/null) || { echo "$0: needs Go >= 1.24 on PATH" >&2; exit 1; }
    if ! printf '%s\n' go1.24 "${v%%[-+ ]*}" | sort -C -V; then
        echo "$0: needs Go >= 1.24 for 'go get -tool'; found $v" >&2
        exit 1
    fi
}

install() {
    installed && return 0
    need_go
    echo "building Jaeger $JAEGER_RELEASE ($JAEGER_MODULE $JAEGER_VERSION) into $BIN_DIR" \
        "(5-15 minutes on 2 cores with empty Go caches)" >&2
    rm -rf "$BUILD_DIR"
    mkdir -p "$BUILD_DIR" "$BIN_DIR"
    # Modules come from the Go module proxy; checksums are verified as usual.
    # -buildvcs=false: the scratch module sits inside cachecar's checkout, whose
    # git state says nothing about Jaeger.
    (
        cd "$BUILD_DIR"
        go mod init cachecar.invalid/jaeger-build >/dev/null 2>&1
        go mod edit -replace="$SARAMA_REPLACE"
        timeout 900 go get -tool "$JAEGER_MODULE/cmd/jaeger@$JAEGER_VERSION"
        timeout 1800 go build -buildvcs=false -o "$BIN.tmp" \
            -ldflags "-X $JAEGER_MODULE/internal/version.latestVersion=$JAEGER_RELEASE" \
            "$JAEGER_MODULE/cmd/jaeger"
    )
    # Renamed last: an interrupted build never leaves a binary that looks installed.
    mv "$BIN.tmp" "$BIN"
}

# Jaeger's own spans off: its query service would export them over OTLP to
# localhost:4317, whatever listens there (the config sets enable_tracing: false too).
export OTEL_TRACES_EXPORTER=none OTEL_SDK_DISABLED=true

case ${1:-} in
    install)
        install
        ;;
    run)
        install
        log=${JAEGER_LOG:-$ROOT/.cache/jaeger/jaeger.log}
        nohup "$BIN" --config "$CONFIG" >"$log" 2>&1 &
        echo "$!"
        ;;
    exec)
        install
        exec "$BIN" --config "$CONFIG"
        ;;
    *)
        echo "usage: $0 install|run|exec" >&2
        exit 2
        ;;
esac
