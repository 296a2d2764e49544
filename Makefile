# cachecar developer entry points. `make demo` and `make test` are the two
# commands of the README; both set up what they need first.
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
GENERATED := clients/python/src/cachecar/v1 clients/go/cachecar/v1 clients/java/src/main/java/dev/cachecar/v1

.PHONY: setup clients-setup tools gen gen-check lint test test-clients examples clients-smoke \
	demo bench soak serve clean jaeger-e2e

setup:
	@scripts/setup.sh

# Node client dependencies, pinned by clients/node/package-lock.json.
clients-setup:
	@test -d clients/node/node_modules/@grpc/grpc-js \
	  || npm ci --prefix clients/node --no-audit --no-fund

# Python stubs (grpcio-tools + mypy-protobuf), Go (protoc-gen-go from the Go
# module proxy) and Java (protoc-gen-grpc-java from Maven Central).
gen: setup
	PATH=$(CURDIR)/$(BIN):$$PATH scripts/gen.sh
	PATH=$(CURDIR)/$(BIN):$$PATH scripts/gen-go.sh
	PATH=$(CURDIR)/$(BIN):$$PATH scripts/gen-java.sh

# CI: regenerate and fail if the committed stubs (Python, Go, Java) differ.
gen-check: gen
	@git diff --exit-code -- $(GENERATED) \
	  || (echo "generated stubs are stale: run 'make gen' and commit" >&2; exit 1)
	@test -z "$$(git status --porcelain -- $(GENERATED))" \
	  || (echo "make gen created untracked stubs: commit them" >&2; exit 1)

lint: setup clients-setup
	$(BIN)/ruff check sidecar tests bench clients/python scripts/examples.py
	$(BIN)/ruff format --check sidecar tests bench clients/python scripts/examples.py
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/mypy --strict clients/python/src/cachecar --exclude 'cachecar/v1'
	npm --prefix clients/node run typecheck
	cd protos && ../$(BIN)/buf lint
	BUF=$(CURDIR)/$(BIN)/buf scripts/buf-breaking.sh
	$(BIN)/hadolint deploy/docker/Dockerfile

# The README's test command: lint, every example in both languages, the Go/Java
# smoke, then the whole suite (sidecar, clients in Python and Node, deployment).
test: setup clients-setup tools gen-check lint
	$(PY) scripts/examples.py
	$(MAKE) --no-print-directory clients-smoke
	$(PY) -m pytest --ignore=tests/e2e

# kustomize, for the test that renders deploy/kubernetes with the real thing, and
# promtool, which checks and unit-tests the alert rules (both built from the Go
# module proxy; their module cache stays outside the repo). remove_all_sd leaves
# Prometheus' service-discovery plugins (every cloud SDK) out of promtool: rule
# checks and rule unit tests never use them, and the build is far shorter.
tools:
	@test -x .cache/bin/kustomize || GOBIN=$(CURDIR)/.cache/bin go install sigs.k8s.io/kustomize/kustomize/v5@v5.8.0
	@test -x .cache/bin/promtool || GOBIN=$(CURDIR)/.cache/bin go install -tags remove_all_sd \
	  github.com/prometheus/prometheus/cmd/promtool@v0.316.0

# Both clients against a real sidecar (Node: node --test, started by pytest).
test-clients: setup clients-setup
	$(PY) -m pytest tests/clients

# Every pattern example, Python and Node, against one sidecar.
examples: setup clients-setup
	$(PY) scripts/examples.py

# Go and Java stubs compile; each GetOrLoad example runs against a sidecar.
clients-smoke: setup
	cd clients/go && go vet ./... && go build ./...
	mvn -q -B -f clients/java package
	$(PY) scripts/examples.py --smoke

# Optional, needs Go >= 1.24: a real Jaeger v2 (v2.13.0, the manifests' image; built
# once from the Go module proxy into .cache/jaeger, 5-15 min on 2 cores) must hold
# the sidecar's whole GetOrLoad trace. Not part of `make test`; see docs/tracing.md.
jaeger-e2e: setup
	scripts/jaeger.sh install
	CACHECAR_JAEGER_E2E=1 $(PY) -m pytest tests/e2e -q

demo: setup
	$(BIN)/cachecar demo

# Benchmarks print ratios measured side by side in one run; never a pass/fail on timing.
bench: setup
	$(PY) -m bench

# Soak: every pattern plus injected faults for 300 s (SOAK_SECONDS=120 to shorten),
# loopback only, not part of CI; report in .cache/soak-report.md.
soak: setup
	$(PY) -m bench.soak

serve: setup
	$(BIN)/cachecar serve

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache clients/node/node_modules
