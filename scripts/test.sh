#!/usr/bin/env bash
# Sets up everything the tests need on a fresh Debian machine (apt, npm, pip), then runs
# lint, type checks and the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v redis-server >/dev/null || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

npm ci --no-audit --no-fund --loglevel=error
npm run build --silent
npm run typecheck --silent
python3 -m pip install -q --disable-pip-version-check -e ".[test]"

python3 -m ruff format --check src tests benchmarks
python3 -m ruff check src tests benchmarks
python3 -m mypy
python3 -m pytest --durations=20 "$@"
