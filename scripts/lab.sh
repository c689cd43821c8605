#!/usr/bin/env bash
# The local container lab.
#   scripts/lab.sh up      create the lab containers (from inventories/lab) and run site.yml
#   scripts/lab.sh create  only create the containers
#   scripts/lab.sh fixtures / site   only the lab stand-ins / only site.yml
#   scripts/lab.sh down    remove the containers and the network
# Environment: VIGIL_LAB_INVENTORY (default inventories/lab), VIGIL_LAB_NETWORK (vigil-lab),
#              VIGIL_LAB_FIXTURES (1: deploy the lab stand-ins before site.yml),
#              ANSIBLE_ARGS (extra ansible-playbook arguments, e.g. "--check --diff").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
inventory=${VIGIL_LAB_INVENTORY:-inventories/lab}
network=${VIGIL_LAB_NETWORK:-vigil-lab}
export ANSIBLE_CONFIG=$root/ansible.cfg PATH=$root/.venv/bin:$PATH
# The lab PKI (molecule/resources/playbooks/lab_tls.yml) lives here on the controller.
export VIGIL_LAB_TLS_DIR=${VIGIL_LAB_TLS_DIR:-$root/.cache/lab-tls}

log() { printf 'lab: %s\n' "$*" >&2; }

lab_hosts() {
  # name<TAB>image for every inventory host that has lab_image
  ansible-inventory -i "$inventory" --list | python3 -c '
import json, sys
inv = json.load(sys.stdin)
for name, hv in sorted(inv.get("_meta", {}).get("hostvars", {}).items()):
    if hv.get("lab_image"):
        print(name + "\t" + hv["lab_image"])
'
}

forget_facts() {
  # ansible.cfg caches facts in .cache/facts (file per host, with a schema prefix).
  find "$root/.cache/facts" -maxdepth 1 -type f \( -name "$1" -o -name "*_$1" \) -delete 2>/dev/null || true
}

create() {
  docker network inspect "$network" >/dev/null 2>&1 || docker network create "$network" >/dev/null
  local name image
  while IFS=$'\t' read -r name image; do
    if docker container inspect "$name" >/dev/null 2>&1; then
      [[ $(docker container inspect -f '{{.State.Running}}' "$name") == true ]] || docker start "$name" >/dev/null
      continue
    fi
    log "creating $name ($image)"
    forget_facts "$name"
    docker run -d --name "$name" --hostname "$name" --network "$network" \
      --cgroupns host -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
      --tmpfs /run --tmpfs /run/lock --tmpfs /tmp \
      --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
      --cap-add SYS_ADMIN --cap-add NET_ADMIN --cap-add NET_RAW \
      --label vigil.lab=1 \
      "$image" /lib/systemd/systemd >/dev/null
  done < <(lab_hosts)
  # Bounded wait for systemd in every container.
  while IFS=$'\t' read -r name image; do
    local i state=""
    for i in $(seq 1 30); do
      state=$(docker exec "$name" systemctl is-system-running 2>/dev/null || true)
      [[ $state == running || $state == degraded ]] && break
      sleep 1
    done
    [[ $state == running || $state == degraded ]] || { log "ERROR: systemd in $name is '$state' after 30s"; exit 1; }
  done < <(lab_hosts)
}

fixtures() {
  log "lab stand-ins (lab CA, fake firewall API, webhook recorder)"
  # shellcheck disable=SC2086
  ansible-playbook -i "$inventory" molecule/resources/playbooks/lab_fixtures.yml ${ANSIBLE_ARGS:-}
}

site() {
  log "running site.yml on the lab"
  # shellcheck disable=SC2086
  ansible-playbook -i "$inventory" site.yml ${ANSIBLE_ARGS:-}
}

up() {
  create
  if [[ ${VIGIL_LAB_FIXTURES:-1} == 1 ]]; then
    fixtures
  fi
  site
}

down() {
  local name image
  while IFS=$'\t' read -r name image; do
    docker rm -f "$name" >/dev/null 2>&1 && log "removed $name" || true
    # A new container of the same name is a new host: forget its cached facts.
    forget_facts "$name"
  done < <(lab_hosts)
  docker network rm "$network" >/dev/null 2>&1 || true
}

case ${1:-up} in
  up) up ;;
  create) create ;;
  fixtures) fixtures ;;
  site) site ;;
  down) down ;;
  *) echo "usage: $0 up|create|fixtures|site|down" >&2; exit 2 ;;
esac
