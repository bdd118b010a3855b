#!/usr/bin/env bash
# Runs one fault test of deploy/tests/test_faults.py (slow ones included) on its own stack on free ports under
# deploy/target/faults-*, started and stopped by the test; prints the FAULT RESULT lines (also appended to
# deploy/target/fault-results.jsonl). Usage: deploy/faults/_run_test.sh <pytest -k expression>
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
TICKSTREAM_SLOW_FAULTS=1 exec producers/.venv/bin/python -m pytest -q -s -p no:cacheprovider \
  deploy/tests/test_faults.py -k "$1 or background_stream" 2>&1 | grep -E "FAULT RESULT|passed|failed|Error|^E "
