#!/usr/bin/env bash
# Run every Molecule scenario, one after the other, and report a summary.
#   scripts/molecule-all.sh                 # all scenarios
#   scripts/molecule-all.sh node_exporter   # only scenarios whose path contains the word
# Fails (exit 1) if any scenario fails; always destroys what it created.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
filter=${1:-}
export VIGIL_ROOT=$root
export ANSIBLE_CONFIG=$root/ansible.cfg
export PY_COLORS=0 ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0

mapfile -t scenarios < <(cd "$root" && ls roles/*/molecule/*/molecule.yml molecule/*/molecule.yml 2>/dev/null | sort)
declare -a results=()
failed=0
start_all=$SECONDS
for file in "${scenarios[@]}"; do
  dir=$(dirname "$file")          # roles/x/molecule/default or molecule/stack
  scenario=$(basename "$dir")
  base=$(dirname "$(dirname "$dir")")  # roles/x or .
  [[ -n $filter && $file != *"$filter"* ]] && continue
  if [[ $base == . ]]; then label="$scenario"; else label="$(basename "$base")/$scenario"; fi
  prefix="vigil-$(echo "$label" | tr '/_' '--')"
  echo "=== molecule: $label (containers ${prefix}-*)"
  t0=$SECONDS
  if (cd "$root/$base" && VIGIL_MOLECULE_PREFIX=$prefix molecule test -s "$scenario"); then
    results+=("PASS $label $((SECONDS - t0))s")
  else
    results+=("FAIL $label $((SECONDS - t0))s")
    failed=1
  fi
done
echo "=== molecule summary ($((SECONDS - start_all))s)"
printf '%s\n' "${results[@]}"
pass=$(printf '%s\n' "${results[@]}" | grep -c '^PASS' || true)
fail=$(printf '%s\n' "${results[@]}" | grep -c '^FAIL' || true)
echo "molecule: $pass passed, $fail failed"
exit $failed
