# cachecar developer entry points. `make demo` and `make test` are the two
# commands of the README; both set up what they need first.
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

.PHONY: setup gen gen-check lint test demo bench serve clean jaeger-e2e

setup:
	@scripts/setup.sh

gen: setup
	PATH=$(CURDIR)/$(BIN):$$PATH scripts/gen.sh

# CI: regenerate and fail if the committed stubs differ.
gen-check: gen
	@git diff --exit-code -- clients/python/src/cachecar/v1 \
	  || (echo "generated stubs are stale: run 'make gen' and commit" >&2; exit 1)
	@test -z "$$(git status --porcelain -- clients/python/src/cachecar/v1)" \
	  || (echo "make gen created untracked stubs: commit them" >&2; exit 1)

lint: setup
	$(BIN)/ruff check sidecar tests
	$(BIN)/mypy
	cd protos && ../$(BIN)/buf lint
	$(BIN)/hadolint deploy/docker/Dockerfile

test: setup gen-check lint
	$(PY) -m pytest --ignore=tests/e2e

# Optional, needs Go: a real Jaeger (v1.48.0, built once from the Go module proxy
# into .cache/jaeger, ~2 min on 2 cores) must find the sidecar's trace.
jaeger-e2e: setup
	scripts/jaeger.sh install
	CACHECAR_JAEGER_E2E=1 $(PY) -m pytest tests/e2e -q

demo: setup
	$(BIN)/cachecar demo

# Benchmarks print ratios measured side by side in one run; never a pass/fail on timing.
bench: setup
	$(PY) -m bench

serve: setup
	$(BIN)/cachecar serve

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
