#!/usr/bin/env bash
# `make test`: everything CI runs, ordered so that both cores stay busy.
#   1. the lab images (debootstrap, mostly download time) are built in the background;
#   2. as soon as they exist, the stack check (scripts/lab-check.sh, the longest job)
#      starts in the background too;
#   3. meanwhile lint and unit run (their output also in .cache/test/lint-unit.log);
#   4. then every Molecule scenario (scripts/molecule-all.sh without the stack), and the
#      stack check's result is awaited;
#   5. whatever happened, scripts/check-no-secrets.py reads every log of the run
#      (.cache/test, .cache/molecule, .cache/lab-check, .cache/lab-images.log) and fails
#      on a planted secret.
# Lint or unit failing stops the run (the stack check in flight is stopped and its lab
# removed). Timeouts: VIGIL_STACK_TIMEOUT (default 4200 s: it now runs beside lint and
# unit, then beside the scenarios), 2400 s per scenario (scripts/molecule-all.sh).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
mkdir -p .cache/test .cache/molecule .cache/lab-check
rm -f .cache/test/*.log .cache/molecule/*.log .cache/lab-check/*.log .cache/test/stack.result .cache/test/images.ok

log() { printf '=== test: %s\n' "$*"; }

# 1 + 2: images, then the stack check, in their own session (so that stopping them
# stops their children, and an interrupt of this script does not reach dockerd).
# shellcheck disable=SC2016 # expanded by the inner shell
setsid bash -c '
  if ! scripts/lab-images.sh >.cache/lab-images.log 2>&1; then
    echo "FAIL images" >.cache/test/stack.result; exit 1
  fi
  touch .cache/test/images.ok
  VIGIL_STACK_TIMEOUT=${VIGIL_STACK_TIMEOUT:-4200} scripts/molecule-all.sh stack \
    >.cache/test/stack-job.log 2>&1
  grep -E "^(PASS|FAIL) stack" .cache/test/stack-job.log >.cache/test/stack.result \
    || echo "FAIL stack (no result line, .cache/test/stack-job.log)" >.cache/test/stack.result
' &
background=$!
t0=$SECONDS

stop_background() {
  kill -- -"$background" 2>/dev/null || true
  wait "$background" 2>/dev/null || true
  timeout 300 scripts/lab.sh down >/dev/null 2>&1 || true
}

finish() {
  local status=$1
  scripts/check-no-secrets.py || status=1
  exit "$status"
}

# 3: lint and unit.
status=0
make --no-print-directory lint unit 2>&1 | tee .cache/test/lint-unit.log || status=$?
if ((status != 0)); then
  log "lint or unit failed ($((SECONDS - t0))s): stopping the stack check"
  stop_background
  finish "$status"
fi
log "lint and unit passed ($((SECONDS - t0))s)"

# The scenarios need the images: wait for them (at most an hour; lab-images.sh bounds
# its own steps).
waited=0
until [[ -f .cache/test/images.ok || -f .cache/test/stack.result ]] || ((waited >= 3600)) \
  || ! kill -0 "$background" 2>/dev/null; do
  sleep 5
  waited=$((waited + 5))
done
cat .cache/lab-images.log
if [[ ! -f .cache/test/images.ok ]]; then
  log "lab-images failed or did not end (.cache/lab-images.log)"
  stop_background
  finish 1
fi

# 4: the scenarios, then the stack check's result.
VIGIL_MOLECULE_NO_STACK=1 scripts/molecule-all.sh || status=1
log "scenarios done ($((SECONDS - t0))s); waiting for the stack check"
wait "$background" || true
grep -vE '^=== molecule' .cache/test/stack-job.log 2>/dev/null || true
if ! grep -q '^PASS stack' .cache/test/stack.result 2>/dev/null; then
  status=1
  log "stack check failed: $(cat .cache/test/stack.result 2>/dev/null)"
fi
log "total $((SECONDS - t0))s"
finish "$status"
