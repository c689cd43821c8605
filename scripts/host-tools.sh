#!/usr/bin/env bash
# Install the host programs the tests call, from Debian's archive, when they are missing
# (`make unit` and `make test` run this; so does CI, through them). Nothing is installed
# when every program is there, and then nothing needs root.
#
#   scripts/host-tools.sh           # install what is missing (root), or say how
#   scripts/host-tools.sh --check   # only report; exit 1 if something is missing
#
# The packages' services are not started on this machine: only their programs are used
# (a temporary /usr/sbin/policy-rc.d holds the start; an existing one is left alone).
set -euo pipefail

# program  Debian package  (what needs it)
tools=(
  "promtool prometheus"                 # promtool check/test rules, check config (alerting tests)
  "amtool prometheus-alertmanager"      # amtool check-config, config routes test (alerting tests)
  "javac default-jdk-headless"         # the test engine (tests/engine: OpenSearch 2.19 from Maven Central;
  "mvn maven"                           #   JDK 17 on Debian 12, 21 on Debian 13, both run it)
  # More host programs of the test suite go here, one "program package" pair a line.
)

log() { printf 'host-tools: %s\n' "$*" >&2; }

missing_pkgs=() missing_cmds=()
for entry in "${tools[@]}"; do
  read -r cmd pkg <<<"$entry"
  if ! command -v "$cmd" >/dev/null 2>&1; then
    missing_cmds+=("$cmd")
    [[ " ${missing_pkgs[*]} " == *" $pkg "* ]] || missing_pkgs+=("$pkg")
  fi
done

if ((${#missing_pkgs[@]} == 0)); then
  exit 0
fi
how="install the Debian packages ${missing_pkgs[*]} (apt-get install --no-install-recommends ${missing_pkgs[*]}), or put ${missing_cmds[*]} on PATH"
if [[ ${1:-} == --check ]]; then
  log "missing ${missing_cmds[*]}: $how"
  exit 1
fi
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  log "missing ${missing_cmds[*]}, and this is not root on a Debian-like system: $how; the tests that need them fail or skip until then"
  exit 1
fi

log "installing ${missing_pkgs[*]} (for ${missing_cmds[*]}; their services are not started)"
export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
own_policy=false
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\n# scripts/host-tools.sh: no service starts while it installs\nexit 101\n' >"$policy"
  chmod 0755 "$policy"
  own_policy=true
  trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing_pkgs[@]}" >/dev/null
if $own_policy; then
  rm -f "$policy"
  trap - EXIT
fi
for cmd in "${missing_cmds[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || { log "ERROR: $cmd still missing after the install"; exit 1; }
done
log "installed ${missing_pkgs[*]}"
