#!/usr/bin/env bash
# Installs everything cachecar's demo and tests need on a fresh Debian machine:
# redis-server, memcached and tmux (apt, when missing) and a .venv with the Python
# packages (pinned by constraints.txt). Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-cli >/dev/null || need+=(redis-tools)
command -v memcached >/dev/null || need+=(memcached)
command -v tmux >/dev/null || need+=(tmux)  # tests/test_top.py runs `cachecar top` in it
if ((${#need[@]})); then
  if [[ $(id -u) -eq 0 ]]; then SUDO=(); elif command -v sudo >/dev/null; then SUDO=(sudo); else
    echo "cachecar setup: please install ${need[*]} (e.g. apt-get install ${need[*]})" >&2; exit 1
  fi
  echo "cachecar setup: installing ${need[*]} with apt-get"
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The Debian packages start system-wide daemons; cachecar starts its own private ones.
  for svc in redis-server memcached; do
    (command -v systemctl >/dev/null && "${SUDO[@]}" systemctl disable --now "$svc" >/dev/null 2>&1) || true
    ("${SUDO[@]}" service "$svc" stop >/dev/null 2>&1) || true
  done
fi

PY="${PYTHON:-python3}"
if [[ ! -x .venv/bin/python ]]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.setup-stamp
want="$(cat pyproject.toml clients/python/pyproject.toml constraints.txt | sha256sum | cut -c1-16)"
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  echo "cachecar setup: installing Python packages into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -c constraints.txt -e clients/python -e '.[dev]'
  echo "$want" > "$stamp"
fi
