#!/usr/bin/env bash
# Sets up everything the tests need on a fresh Debian machine (apt, npm, pip), then runs
# lint, type checks, the fast tests on every other Python the package claims, and the
# whole test suite. Extra arguments go to the whole suite's pytest, which then runs once as
# told (without them, tests/browser runs on its own after the rest).
# NBC_OTHER_PYTHONS=0 skips the other Pythons (quicker while developing).
# It prints how long each phase took and the total at the end, also when a phase fails:
# the whole run has a budget of 30 minutes on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."

phase_names=()
phase_times=()
phase=""
phase_started=$SECONDS
# Ends the phase running (if any) and starts the one named, for the timings at exit.
start_phase() {
  if [ -n "$phase" ]; then
    phase_names+=("$phase")
    phase_times+=($((SECONDS - phase_started)))
  fi
  phase=$1
  phase_started=$SECONDS
}
report_times() {
  local status=$?
  start_phase ""
  local i
  for i in "${!phase_names[@]}"; do
    printf 'test.sh: %-14s %4d s\n' "${phase_names[$i]}" "${phase_times[$i]}" >&2
  done
  local verdict=passed
  [ "$status" = 0 ] || verdict="FAILED (exit code $status)"
  printf 'test.sh: total %d min %02d s, %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$verdict" >&2
}
trap report_times EXIT

start_phase setup

missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v janus >/dev/null || missing+=(janus)
command -v turnserver >/dev/null || missing+=(coturn)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

npm ci --no-audit --no-fund --loglevel=error
npm run build --silent
npm run typecheck --silent
python3 -m pip install -q --disable-pip-version-check -e ".[test]"

start_phase lint/types
python3 -m ruff format --check src tests benchmarks
python3 -m ruff check src tests benchmarks
python3 -m mypy  # as the oldest Python claimed (python_version in pyproject.toml)

# The fast tests (no browser, no aiortc, no Redis: the modules marked `fast`, listed in
# tests/conftest.py; `-m fast` does not even import the others) on each other Python that
# requires-python admits, each in a venv of its own kept between runs (.venv-py3.N).
# They mostly wait on sockets and timers, so the versions run side by side.
# The oldest Python runs them with the oldest tornado dependencies admits, in a venv named
# for it (.venv-py3.N-tornadoX.Y) that a plain run never reuses: nbconference relies on
# some of tornado's private internals (tests/test_private_internals.py), so both ends of
# tornado's range are tested. It runs even when the oldest Python is this one.
this=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
oldest=$(sed -n 's/^requires-python = ">=3\.\([0-9]*\)"$/\1/p' pyproject.toml)
oldest_tornado=$(sed -n 's/^  "tornado>=\([0-9.]*\),<[0-9.]*",$/\1/p' pyproject.toml)
if [ -z "$oldest_tornado" ]; then
  echo 'test.sh: no "tornado>=X.Y,<Z" dependency found in pyproject.toml' >&2
  exit 1
fi
newest=13  # the newest Python tested here; raise it when a newer one is claimed to work
runs=()
if [ "${NBC_OTHER_PYTHONS:-1}" != 0 ]; then
  start_phase "other Pythons"
  for minor in $(seq "$oldest" "$newest"); do
    version="3.$minor"
    venv=".venv-py$version"
    pins=()
    label="Python $version"
    if [ "$minor" = "$oldest" ]; then
      venv="$venv-tornado$oldest_tornado"
      pins=("tornado==$oldest_tornado")
      label="$label with tornado $oldest_tornado"
    elif [ "$version" = "$this" ]; then
      continue
    fi
    python=$(command -v "python$version" || true)
    for candidate in /root/.pyenv/versions/"$version".*/bin/python; do
      [ -x "$candidate" ] && python=$candidate
    done
    if [ -z "$python" ]; then
      echo "test.sh: no Python $version interpreter found: its fast tests are SKIPPED" >&2
      continue
    fi
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -e ".[test-fast]" \
      ${pins[@]+"${pins[@]}"}
    "$venv/bin/python" -m pytest -q -p no:cacheprovider -m fast \
      >"$venv/fast-tests.log" 2>&1 &
    runs+=("$!:$venv:$label")
  done
  failed=0
  for run in "${runs[@]}"; do
    pid=${run%%:*}
    rest=${run#*:}
    venv=${rest%%:*}
    label=${rest#*:}
    if wait "$pid"; then
      echo "test.sh: fast tests pass on $label ($(tail -n 1 "$venv/fast-tests.log"))"
    else
      failed=1
      echo "test.sh: fast tests FAIL on $label:" >&2
      tail -n 60 "$venv/fast-tests.log" >&2
    fi
  done
  [ "$failed" = 0 ]
fi

if [ $# -gt 0 ]; then
  start_phase "whole suite"
  python3 -m pytest --durations=20 "$@"
else
  # The modules outside tests/browser mostly wait on sockets, timers and processes: two
  # workers (pytest-xdist) halve their time. The browser tests then have the machine to
  # themselves, one at a time, as their timings expect.
  start_phase "not browser"
  python3 -m pytest --durations=20 -n 2 --ignore=tests/browser
  start_phase "browser"
  python3 -m pytest --durations=20 tests/browser
fi
