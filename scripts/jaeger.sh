#!/usr/bin/env bash
# A real Jaeger for the end-to-end tracing check (`make jaeger-e2e`).
#
#   scripts/jaeger.sh install   build the pinned Jaeger into .cache/jaeger/bin (no-op if there)
#   scripts/jaeger.sh run       start it in the background; prints its PID, logs to $JAEGER_LOG
#   scripts/jaeger.sh exec      run it in the foreground (for test harnesses that own the process)
#
# Why v1.48.0 and cmd/all-in-one: Jaeger ships no release binaries we can fetch
# here, only its Go module, and `go install pkg@version` refuses a module whose
# go.mod has a replace directive. Every release from v1.49.0 on has one
# (github.com/Shopify/sarama), the Jaeger v2 ones (module tags v1.6x/v1.7x) too,
# so v1.48.0 is the newest release that `go install` can build. It speaks OTLP (gRPC and HTTP) natively,
# stores spans in memory by default and serves the query API /api/traces/<id>.
set -euo pipefail

JAEGER_VERSION=v1.48.0
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN_DIR=$ROOT/.cache/jaeger/bin
BIN=$BIN_DIR/all-in-one

installed() {
    # The module version is embedded in the binary, so a bumped pin rebuilds.
    local info
    [[ -x $BIN ]] && info=$(go version -m "$BIN" 2>/dev/null) || return 1
    grep -Eq "^\s+mod\s+github.com/jaegertracing/jaeger\s+$JAEGER_VERSION(\s|$)" <<<"$info"
}

install() {
    installed && return 0
    mkdir -p "$BIN_DIR"
    echo "building Jaeger $JAEGER_VERSION into $BIN_DIR (about 2 minutes on 2 cores)" >&2
    # Modules come from the Go module proxy; checksums are verified as usual.
    GOBIN=$BIN_DIR timeout 900 \
        go install "github.com/jaegertracing/jaeger/cmd/all-in-one@$JAEGER_VERSION"
}

# Every listener on loopback only (the defaults are all ":port", i.e. every
# interface). Ports can be moved through the environment; a test gives free ones.
flags() {
    local h=127.0.0.1
    echo \
        --collector.otlp.grpc.host-port=$h:"${JAEGER_OTLP_GRPC_PORT:-4317}" \
        --collector.otlp.http.host-port=$h:"${JAEGER_OTLP_HTTP_PORT:-4318}" \
        --query.http-server.host-port=$h:"${JAEGER_QUERY_PORT:-16686}" \
        --query.grpc-server.host-port=$h:"${JAEGER_QUERY_GRPC_PORT:-16685}" \
        --admin.http.host-port=$h:"${JAEGER_ADMIN_PORT:-14269}" \
        --collector.grpc-server.host-port=$h:"${JAEGER_COLLECTOR_GRPC_PORT:-14250}" \
        --collector.http-server.host-port=$h:"${JAEGER_COLLECTOR_HTTP_PORT:-14268}" \
        --http-server.host-port=$h:"${JAEGER_SAMPLING_PORT:-5778}" \
        --processor.jaeger-compact.server-host-port=$h:"${JAEGER_AGENT_COMPACT_PORT:-6831}" \
        --processor.jaeger-binary.server-host-port=$h:"${JAEGER_AGENT_BINARY_PORT:-6832}" \
        --processor.zipkin-compact.server-host-port=$h:"${JAEGER_AGENT_ZIPKIN_PORT:-5775}"
}

# In-memory storage, bounded; Jaeger's own self-tracing off (it would otherwise
# export its spans to whatever listens on localhost:4317).
export SPAN_STORAGE_TYPE=memory OTEL_TRACES_SAMPLER=always_off
export OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://127.0.0.1:${JAEGER_OTLP_GRPC_PORT:-4317}

case ${1:-} in
    install)
        install
        ;;
    run)
        install
        log=${JAEGER_LOG:-$ROOT/.cache/jaeger/jaeger.log}
        # shellcheck disable=SC2046  # flags() prints words without spaces
        nohup "$BIN" --memory.max-traces=100000 $(flags) >"$log" 2>&1 &
        echo "$!"
        ;;
    exec)
        install
        # shellcheck disable=SC2046
        exec "$BIN" --memory.max-traces=100000 $(flags)
        ;;
    *)
        echo "usage: $0 install|run|exec" >&2
        exit 2
        ;;
esac
