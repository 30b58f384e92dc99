#!/usr/bin/env bash
# Installs nbconference with JupyterLab and opens the demo notebook. Extra arguments go
# to `jupyter lab` (e.g. --port 8899).
set -euo pipefail
cd "$(dirname "$0")/.."

npm ci --no-audit --no-fund --loglevel=error
npm run build --silent
python3 -m pip install -q --disable-pip-version-check -e ".[stats]" jupyterlab
exec python3 -m jupyterlab notebooks/demo.ipynb --ServerApp.ip=127.0.0.1 "$@"
