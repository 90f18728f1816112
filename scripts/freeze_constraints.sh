#!/usr/bin/env bash
# Rewrite constraints.txt from .venv after `pip install -c constraints.txt -e ".[test,phonons,notebooks]"`
# (and any new extra) and a passing `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
{
  echo "# Versions verified together (Python 3.11, CPU, $(date +%Y-%m-%d)), with the test, notebooks and phonons extras;"
  echo "# used by 'make env', CI, environment.yml and binder/. Regenerate with scripts/freeze_constraints.sh."
  .venv/bin/python -m pip freeze --exclude-editable | grep -v "^e3nn-materials" | sed 's/^torch==\([0-9.]*\)+cpu/torch==\1/'
} > constraints.txt
echo "wrote constraints.txt ($(grep -vc '^#' constraints.txt) pins)"
