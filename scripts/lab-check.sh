#!/usr/bin/env bash
# The stack test (run by `make lab-check`, part of `make test`):
#  1. create the lab and converge site.yml on it (what `make lab` does);
#  2. converge again: every host must report changed=0;
#  3. --check --diff on the converged lab: no changes, no failures;
#  4. testinfra + API checks in tests/lab (targets up, rules loaded, routing...);
#  5. add a host to the inventory, run only the exporter role with --limit on it:
#     it must appear in Prometheus within one scrape interval;
#  6. remove the lab (unless VIGIL_LAB_KEEP=1).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH=$root/.venv/bin:$PATH ANSIBLE_CONFIG=$root/ansible.cfg ANSIBLE_NOCOLOR=1 PY_COLORS=0
logs=${VIGIL_LAB_LOGS:-$root/.cache/lab-check}
mkdir -p "$logs"

log() { printf 'lab-check: %s\n' "$*" >&2; }

recap_changes() {
  # Sum of changed= and failed= over the PLAY RECAP of a log file.
  python3 - "$1" <<'PY'
import re, sys
changed = failed = 0
hosts = []
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    m = re.match(r"^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", line)
    if m:
        hosts.append(m.group(1))
        changed += int(m.group(2))
        failed += int(m.group(3)) + int(m.group(4))
print(changed, failed, len(set(hosts)))
PY
}

cleanup() {
  if [[ ${VIGIL_LAB_KEEP:-0} != 1 ]]; then
    scripts/lab.sh down || true
    VIGIL_LAB_INVENTORY=.cache/lab-check/extra-inventory scripts/lab.sh down >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

scripts/lab.sh down >/dev/null 2>&1 || true
t0=$SECONDS
log "1/5 converge site.yml on a new lab"
scripts/lab.sh up >"$logs/converge.log" 2>&1 || { tail -n 60 "$logs/converge.log"; log "FAIL: first converge"; exit 1; }
log "first converge took $((SECONDS - t0))s"
# site.yml must gather facts at most once per host (the fact cache serves later plays).
python3 - "$logs/converge.log" <<'PY' || { log "FAIL: facts gathered twice"; exit 1; }
import re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
text = text[text.find("running site.yml"):]
seen = {}
for block in re.split(r"\nTASK \[", text)[1:]:
    if block.startswith("Gathering Facts]"):
        for m in re.finditer(r"^(?:ok|changed|fatal|failed): \[([^\]]+)\]", block, re.M):
            seen[m.group(1)] = seen.get(m.group(1), 0) + 1
twice = {host: n for host, n in seen.items() if n > 1}
if twice:
    sys.exit("facts gathered more than once in site.yml: %s" % twice)
print("lab-check: site.yml gathered facts once for %d hosts, never twice" % len(seen), file=sys.stderr)
PY

log "2/5 second converge must change nothing"
scripts/lab.sh up >"$logs/idempotence.log" 2>&1 || { tail -n 60 "$logs/idempotence.log"; log "FAIL: second converge"; exit 1; }
read -r changed failed nhosts < <(recap_changes "$logs/idempotence.log")
if [[ $changed != 0 || $failed != 0 ]]; then
  grep -E "^(changed|TASK)" "$logs/idempotence.log" | grep -B1 "^changed" | head -40
  log "FAIL: second converge reported changed=$changed failed=$failed"
  exit 1
fi
log "second converge: changed=0 on all $nhosts hosts"

log "3/5 check mode on the converged lab"
ANSIBLE_ARGS="--check --diff" scripts/lab.sh up >"$logs/check.log" 2>&1 || { tail -n 60 "$logs/check.log"; log "FAIL: check mode"; exit 1; }
read -r changed failed nhosts < <(recap_changes "$logs/check.log")
if [[ $changed != 0 || $failed != 0 ]]; then
  grep -E "^(changed|TASK)" "$logs/check.log" | grep -B1 "^changed" | head -40
  log "FAIL: check mode reported changed=$changed failed=$failed"
  exit 1
fi
log "check mode: no changes on $nhosts hosts"

log "4/5 testinfra and API checks"
python -m pytest -p no:cacheprovider -q --durations=8 tests/lab --hosts="ansible://lab" --ansible-inventory=inventories/lab \
  --connection=ansible -m "not late_host"

log "5/5 a new host registers itself without touching the Prometheus play"
python -m pytest -p no:cacheprovider -q --durations=3 tests/lab -m late_host
log "lab check passed in $((SECONDS - t0))s"
