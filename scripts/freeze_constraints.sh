#!/usr/bin/env bash
# Rewrite constraints.txt from the current virtual environment (after `make test` passed).
set -euo pipefail
cd "$(dirname "$0")/.."
{
  echo "# Versions verified together (Python 3.11, CPU) on $(date +%Y-%m-%d): used by 'make env', CI,"
  echo "# environment.yml and binder/. Regenerate with scripts/freeze_constraints.sh after a verified run."
  .venv/bin/python -m pip freeze --exclude-editable | grep -v "^e3nn-materials" | sed 's/^torch==\([0-9.]*\)+cpu/torch==\1/'
} > constraints.txt
echo "wrote constraints.txt ($(grep -vc '^#' constraints.txt) pins)"
