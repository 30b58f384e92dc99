#!/usr/bin/env bash
# Installs nbconference with JupyterLab and opens the demo notebook. Extra arguments go
# to `jupyter lab` (e.g. --port 8899). NBC_DEMO_SKIP_INSTALL=1 skips the install step
# and only launches Lab (what is installed already is used).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${NBC_DEMO_SKIP_INSTALL:-0}" != 1 ]; then
  npm ci --no-audit --no-fund --loglevel=error
  npm run build --silent
  python3 -m pip install -q --disable-pip-version-check -e ".[stats]" jupyterlab
fi

# Jupyter refuses to start as root without --allow-root. Containers, CI and fresh cloud
# machines often have only root, and the server binds 127.0.0.1 with a token either way.
as_root=()
[ "$(id -u)" = 0 ] && as_root=(--allow-root)
exec python3 -m jupyterlab notebooks/demo.ipynb --ServerApp.ip=127.0.0.1 "${as_root[@]}" "$@"
