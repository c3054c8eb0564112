# Shared by the production migration scripts (sourced, not run). See runbooks/production-migration.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
STAGE=${STAGE:-production}
WFDEPLOY=.venv/bin/wfdeploy
PYTHON=.venv/bin/python
# values come from the stack file, never typed twice
stage_value() {  # stage_value 'config.namespaces.data'
  "$PYTHON" - "$STAGE" "$1" <<'PY'
import sys
from functools import reduce
from wfdeploy.stages import load_stage
print(reduce(getattr, sys.argv[2].split(".")[1:], load_stage(sys.argv[1]).config))
PY
}
CONTEXT=$(stage_value config.cluster.context)
DATA_NAMESPACE=$(stage_value config.namespaces.data)
kc() { kubectl --context "$CONTEXT" "$@"; }
step() { printf '\n== %s\n' "$*"; }
targeted_up() {  # targeted_up PHASE [targets.py args...]: pulumi up of one phase only
  local phase=$1; shift
  local preview targets
  preview=$(mktemp) targets=$(mktemp)
  pulumi preview --stack "$STAGE" --json >"$preview"
  "$PYTHON" scripts/migration/targets.py "$phase" "$@" <"$preview" >"$targets"
  echo "$(wc -l <"$targets") resources in phase $phase"
  mapfile -t urns <"$targets"
  local args=()
  for urn in "${urns[@]}"; do args+=(--target "$urn"); done
  pulumi up --stack "$STAGE" --yes "${args[@]}"
  rm -f "$preview" "$targets"
}
