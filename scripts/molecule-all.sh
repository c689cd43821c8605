#!/usr/bin/env bash
# Run every Molecule scenario and report a summary.
#   scripts/molecule-all.sh                 # all scenarios
#   scripts/molecule-all.sh node_exporter   # only scenarios whose path contains the word
# VIGIL_MOLECULE_JOBS (default 3) scenarios run at once, each with its own container
# prefix, so they never share a name. The stack check (scripts/lab-check.sh: site.yml
# on the lab inventory, label "stack") runs as one more job; the longest jobs start
# first. Each scenario's output goes to
# .cache/molecule/<label>.log; the tail of a failed one is printed. Exits 1 if any failed.
# Timeouts: 2400 s per scenario (they yield the CPU to the stack check), 3600 s for the
# stack check (three runs of site.yml on
# five hosts beside the scenarios; docs/performance.md has the measured times).
# VIGIL_MITOGEN=1 runs the scenarios (not the stack check) with Mitogen's strategy
# (scripts/mitogen-env.sh); the summary says which strategy ran.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
filter=${1:-}
jobs=${VIGIL_MOLECULE_JOBS:-3}
logdir=$root/.cache/molecule
mkdir -p "$logdir"
export VIGIL_ROOT=$root
export ANSIBLE_CONFIG=$root/ansible.cfg
export PY_COLORS=0 ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 NO_COLOR=1
export PATH=$root/.venv/bin:$PATH

run_one() {
  local file=$1 dir scenario base label prefix log t0 rc
  dir=$(dirname "$file")
  scenario=$(basename "$dir")
  base=$(dirname "$(dirname "$dir")")
  if [[ $base == . ]]; then label="$scenario"; else label="$(basename "$base")/$scenario"; fi
  prefix="vigil-$(echo "$label" | tr '/_' '--')"
  log="$logdir/$(echo "$label" | tr '/' '-').log"
  t0=$SECONDS
  if [[ $file == stack ]]; then
    label=stack log="$logdir/stack.log"
    # The stack check proves site.yml as operators run it: plain Ansible, whatever
    # VIGIL_MITOGEN says for the scenarios (VIGIL_STACK_MITOGEN=1 to try it there too).
    # It is also the critical path: its containers get 4 times the CPU weight of the
    # scenarios' containers (docker --cpu-shares), its controller runs un-niced.
    VIGIL_MITOGEN=${VIGIL_STACK_MITOGEN:-0} VIGIL_LAB_CPU_SHARES=${VIGIL_STACK_CPU_SHARES:-4096} \
      timeout "${VIGIL_STACK_TIMEOUT:-3600}" "$root/scripts/lab-check.sh" >"$log" 2>&1
    rc=$?
    if ((rc == 0)); then echo "PASS $label $((SECONDS - t0))s"; else echo "FAIL $label $((SECONDS - t0))s (rc=$rc, log $log)"; fi
    return 0
  fi
  # Molecule keys its ephemeral directory on the project's basename and the scenario
  # name, so two "default" scenarios of different roles would share one: give each its own.
  export MOLECULE_EPHEMERAL_DIRECTORY="$HOME/.ansible/tmp/molecule-$prefix"
  # VIGIL_MITOGEN=1: the scenario's plays on its containers run with Mitogen's strategy.
  # shellcheck source=scripts/mitogen-env.sh
  source "$root/scripts/mitogen-env.sh"
  # The stack check is the longest job: the scenarios yield the CPU to it (nice).
  (cd "$root/$base" && VIGIL_MOLECULE_PREFIX=$prefix timeout 2400 nice -n "${VIGIL_MOLECULE_NICE:-10}" \
    molecule test -s "$scenario") >"$log" 2>&1
  rc=$?
  if ((rc == 0)); then
    echo "PASS $label $((SECONDS - t0))s"
  else
    echo "FAIL $label $((SECONDS - t0))s (rc=$rc, log $log)"
    # A scenario killed by the timeout leaves its containers: remove them (logged
    # apart, so the scenario's log ends where it failed).
    (cd "$root/$base" && VIGIL_MOLECULE_PREFIX=$prefix timeout 300 molecule destroy -s "$scenario") >"${log%.log}.destroy.log" 2>&1 || true
  fi
}
export -f run_one
export root logdir

# Longest first (the stack, then the cross-role scenarios), so the run ends sooner.
# VIGIL_MOLECULE_NO_STACK=1 leaves the stack check out (scripts/test.sh starts it earlier,
# as soon as the lab images exist).
mapfile -t scenarios < <(
  [[ ${VIGIL_MOLECULE_NO_STACK:-0} == 1 ]] || echo stack
  cd "$root" && { compgen -G 'molecule/*/molecule.yml' | sort || true; }
  compgen -G 'roles/*/molecule/*/molecule.yml' | sort || true
)
# molecule/skip.txt: "<label> <reason>" lines for scenarios known not to pass yet;
# they are listed as SKIPPED (with the reason) instead of run.
skipfile=$root/molecule/skip.txt
selected=()
skipped=()
for file in "${scenarios[@]}"; do
  [[ -n $filter && $file != *"$filter"* ]] && continue
  d=$(dirname "$file"); b=$(dirname "$(dirname "$d")")
  if [[ $file == stack ]]; then l=stack
  elif [[ $b == . ]]; then l=$(basename "$d"); else l="$(basename "$b")/$(basename "$d")"; fi
  if [[ -f $skipfile ]] && reason=$(awk -v l="$l" '$1 == l {$1=""; print substr($0, 2); found=1} END {exit !found}' "$skipfile"); then
    skipped+=("SKIPPED $l: $reason")
    continue
  fi
  selected+=("$file")
done
((${#skipped[@]})) && printf '%s\n' "${skipped[@]}"
if ((${#selected[@]} == 0)); then
  if ((${#skipped[@]} > 0)); then
    echo "molecule: 0 passed, 0 failed, ${#skipped[@]} skipped"
    exit 0
  fi
  echo "molecule: no scenario matches '${filter}'" >&2
  exit 1
fi
strategy=plain; [[ ${VIGIL_MITOGEN:-0} == 1 ]] && strategy="Mitogen (stack check: plain unless VIGIL_STACK_MITOGEN=1)"
echo "=== molecule: ${#selected[@]} scenarios, $jobs at a time, strategy $strategy (logs in $logdir)"
start_all=$SECONDS
# Each result line is shown as it comes and collected. (Not `tee /dev/stderr`: when
# stderr is a file, e.g. `make test >log 2>&1`, opening /dev/stderr truncates that log.)
echo_both() { while IFS= read -r line; do printf '%s\n' "$line" >&2; printf '%s\n' "$line"; done; }
results=$(printf '%s\n' "${selected[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {} | echo_both)
echo "=== molecule summary ($((SECONDS - start_all))s)"
printf '%s\n' "$results" | sort
pass=$(printf '%s\n' "$results" | grep -c '^PASS' || true)
fail=$(printf '%s\n' "$results" | grep -c '^FAIL' || true)
if ((fail > 0)); then
  while read -r _ label _; do
    log="$logdir/$(echo "$label" | tr '/' '-').log"
    echo "=== why $label failed (first failures, then the end of its log)"
    # Task failures and test failures with a little context, then the tail.
    grep -nE -B3 -A12 '^(fatal|failed):|^E  |FAILED!|AssertionError|^\[ERROR\]' "$log" | head -n 120
    echo "--- end of $label log"
    grep -vE '^\s*$' "$log" | grep -vE '^(Thursday|Monday|Tuesday|Wednesday|Friday|Saturday|Sunday) ' | tail -n 40
  done < <(printf '%s\n' "$results" | grep '^FAIL')
fi
((${#skipped[@]})) && printf '%s\n' "${skipped[@]}"
echo "molecule: $pass passed, $fail failed, ${#skipped[@]} skipped"
((fail == 0))
