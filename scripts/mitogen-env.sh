# shellcheck shell=bash
# Sourced by the scripts that run Ansible against containers (lab.sh, molecule-all.sh,
# bench.sh). With VIGIL_MITOGEN=1, plays on managed hosts run with Mitogen's linear
# strategy (scripts/strategy_plugins/vigil_mitogen_linear.py); plays on the controller
# (`connection: local`) stay plain. Default: plain Ansible. See docs/performance.md.
# Needs $root (the checkout) and the venv on PATH.
# shellcheck disable=SC2154  # root: set by the script that sources this file
if [[ ${VIGIL_MITOGEN:-0} == 1 ]]; then
  if ! python -c 'import ansible_mitogen' 2>/dev/null; then
    echo "VIGIL_MITOGEN=1 needs Mitogen in the venv: make venv (requirements-test.txt pins it)" >&2
    exit 1
  fi
  export ANSIBLE_STRATEGY_PLUGINS=$root/scripts/strategy_plugins ANSIBLE_STRATEGY=vigil_mitogen_linear
  # Third-party strategies print a deprecation notice on every run; it says nothing new.
  export ANSIBLE_DEPRECATION_WARNINGS=false
fi
