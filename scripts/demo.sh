#!/usr/bin/env bash
# Runs mlprt's demo (examples/simple_mlp_tutorial.py: the TensorRT tutorial workflow on the SimpleMLP) after installing what it needs (scripts/bootstrap.sh).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$repo/scripts/bootstrap.sh"
venv=$(bash "$repo/scripts/bootstrap.sh" --print-venv)
exec "$venv/bin/python" "$repo/examples/simple_mlp_tutorial.py" "$@"
