#!/usr/bin/env bash
# The collection's gates, as the Ansible ecosystem checks a collection (`make lint` runs
# this after yamllint and ansible-lint). No container, nothing from Galaxy.
#
#   scripts/gates.sh
#
#   sanity          ansible-test sanity, every test (scripts/sanity.sh; runs alongside the rest)
#   specs           every role's meta/argument_specs.yml agrees with defaults/main.yml
#   readme          the roles' README variable tables are those scripts/role_docs.py writes
#   changelog       antsibull-changelog lint (changelogs/fragments)
#   build           ansible-galaxy collection build, then install of the tarball
#   galaxy-importer Galaxy's importer on the tarball (tests/galaxy-importer.cfg)
#   ansible-doc     every module, filter and role of the installed tarball renders
#   ee              ansible-builder introspect + create (meta/execution-environment.yml)
#
# Logs: .cache/gates/<gate>.log; a failed gate's log is printed. Timings are printed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
venv=${VENV:-$root/.venv}
out=$root/.cache/gates
export PATH=$venv/bin:$PATH PYTHONWARNINGS=ignore
cd "$root"
rm -rf "$out"
mkdir -p "$out"

names=() results=() seconds=()
record() { names+=("$1"); results+=("$2"); seconds+=("$3"); }
gate() {
  local name=$1 start=$SECONDS
  shift
  if "$@" >"$out/$name.log" 2>&1; then record "$name" ok $((SECONDS - start)); else record "$name" FAILED $((SECONDS - start)); fi
}

# The longest gate runs alongside the others.
sanity_start=$SECONDS
scripts/sanity.sh >"$out/sanity.log" 2>&1 &
sanity_pid=$!

gate specs python scripts/check_role_specs.py
gate readme python scripts/role_docs.py --check
gate changelog antsibull-changelog lint
# shellcheck disable=SC2329  # called through gate
build() {
  # From the output directory: the checkout's ansible.cfg would find the collection
  # through collections/ and call it installed already.
  (cd "$out" && ansible-galaxy collection build --output-path "$out" "$root" \
    && ansible-galaxy collection install --offline --no-deps --force -p "$out/collections" "$out"/vigil-monitoring-*.tar.gz)
}
gate build build
if [[ ${results[-1]} == ok ]]; then
  tarball=$(echo "$out"/vigil-monitoring-*.tar.gz)
  gate galaxy-importer bash -c "cd '$out' && GALAXY_IMPORTER_CONFIG='$root/tests/galaxy-importer.cfg' \
    python -m galaxy_importer.main --print-result '$tarball'"
  gate ansible-doc python scripts/check_docs.py "$out/collections"
  gate ee bash -c "cd '$out' && python '$root/scripts/ee_check.py' '$out/collections' '$out/ee'"
fi

status=0
wait "$sanity_pid" || status=$?
record sanity "$([[ $status == 0 ]] && echo ok || echo FAILED)" $((SECONDS - sanity_start))

failed=0
for i in "${!names[@]}"; do
  if [[ ${results[$i]} != ok ]]; then
    failed=1
    printf '\n===== %s FAILED (.cache/gates/%s.log, last 60 lines) =====\n' "${names[$i]}" "${names[$i]}"
    tail -n 60 "$out/${names[$i]}.log"
  fi
done
printf '\n%-16s %-7s %s\n' gate result seconds
for i in "${!names[@]}"; do
  printf '%-16s %-7s %s\n' "${names[$i]}" "${results[$i]}" "${seconds[$i]}"
done
exit "$failed"
