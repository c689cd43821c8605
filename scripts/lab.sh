#!/usr/bin/env bash
# The local container lab.
#   scripts/lab.sh up      create the lab containers (from inventories/lab) and run site.yml
#   scripts/lab.sh create  only create the containers
#   scripts/lab.sh fixtures / site   only the lab stand-ins / only site.yml
#   scripts/lab.sh down    remove the containers and the network
# Environment: VIGIL_LAB_INVENTORY (default inventories/lab), VIGIL_LAB_NETWORK (vigil-lab),
#              VIGIL_LAB_FIXTURES (1: deploy the lab stand-ins before site.yml),
#              ANSIBLE_ARGS (extra ansible-playbook arguments, e.g. "--check --diff"),
#              VIGIL_MITOGEN (1: Mitogen's strategy, scripts/mitogen-env.sh),
#              VIGIL_LAB_CPU_SHARES (docker --cpu-shares of the lab containers, default
#              1024; the stack check raises it so the lab goes first among containers).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
inventory=${VIGIL_LAB_INVENTORY:-inventories/lab}
network=${VIGIL_LAB_NETWORK:-vigil-lab}
export ANSIBLE_CONFIG=$root/ansible.cfg PATH=$root/.venv/bin:$PATH
# The lab PKI (lab/playbooks/lab_tls.yml) lives here on the controller.
export VIGIL_LAB_TLS_DIR=${VIGIL_LAB_TLS_DIR:-$root/.cache/lab-tls}
# VIGIL_MITOGEN=1: Mitogen's strategy for the plays on the lab hosts (docs/performance.md).
# shellcheck source=scripts/mitogen-env.sh
source "$root/scripts/mitogen-env.sh"

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

ensure_inotify() {
  # Every systemd container holds several inotify instances of the host's root user:
  # with the kernel default (128) a lab of about 20 containers leaves the next ones'
  # systemd stuck in "initializing". Raise the limit for the lab's size.
  local hosts need have
  hosts=$(lab_hosts | wc -l)
  # About 5 per container were seen in use; 8 leaves room, 64 for the host itself.
  need=$((64 + hosts * 8))
  have=$(cat /proc/sys/fs/inotify/max_user_instances 2>/dev/null || echo "$need")
  ((have >= need)) && return 0
  if [[ $(id -u) -eq 0 ]]; then
    log "raising fs.inotify.max_user_instances from $have to $need for $hosts systemd containers"
    sysctl -qw fs.inotify.max_user_instances="$need" ||
      log "WARNING: could not raise fs.inotify.max_user_instances; some containers may not boot"
  else
    log "ERROR: fs.inotify.max_user_instances is $have; $hosts systemd containers need $need:"
    log "       sudo sysctl -w fs.inotify.max_user_instances=$need"
    exit 1
  fi
}

create() {
  ensure_inotify
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
      --label vigil.lab=1 --cpu-shares "${VIGIL_LAB_CPU_SHARES:-1024}" \
      "$image" /lib/systemd/systemd >/dev/null
  done < <(lab_hosts)
  # Bounded wait for systemd in every container (30 containers booting at once on 2
  # cores take more than a minute).
  while IFS=$'\t' read -r name image; do
    local state=""
    for _ in $(seq 1 180); do
      state=$(docker exec "$name" systemctl is-system-running 2>/dev/null || true)
      [[ $state == running || $state == degraded ]] && break
      sleep 1
    done
    [[ $state == running || $state == degraded ]] || {
      log "ERROR: systemd in $name is '$state' after 180s (docker logs $name; fs.inotify limits?)"
      exit 1
    }
  done < <(lab_hosts)
}

fixtures() {
  log "lab stand-ins (lab CA, fake firewall API, fake Elasticsearch monitoring API, webhook recorder)"
  # shellcheck disable=SC2086
  ansible-playbook -i "$inventory" lab/playbooks/lab_fixtures.yml ${ANSIBLE_ARGS:-}
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
