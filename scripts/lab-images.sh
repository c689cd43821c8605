#!/usr/bin/env bash
# Prepare the container lab: a Docker engine and the local systemd base images.
#
# Works in a closed network (only Debian's archive is needed) and on an ordinary
# Linux box with Docker. Installing packages and starting dockerd need root; when the
# engine already answers and the images exist, nothing needs root.
#
#   scripts/lab-images.sh            # engine + both images (reused when present)
#   scripts/lab-images.sh --rebuild  # build the images again
#
# Environment:
#   VIGIL_DEBIAN_MIRROR   Debian mirror (default http://deb.debian.org/debian)
#   VIGIL_LAB_SUITES      suites to build (default "bookworm trixie")
#   VIGIL_DOCKERD_LOG     where a dockerd started here logs (default /var/log/vigil-dockerd.log)
set -euo pipefail

mirror=${VIGIL_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suites=${VIGIL_LAB_SUITES:-bookworm trixie}
dockerd_log=${VIGIL_DOCKERD_LOG:-/var/log/vigil-dockerd.log}
rebuild=false
[[ ${1:-} == --rebuild ]] && rebuild=true

log() { printf 'lab-images: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

image_for() {
  case $1 in
    bookworm) echo vigil/debian12-systemd ;;
    trixie) echo vigil/debian13-systemd ;;
    *) die "unknown suite '$1' (known: bookworm trixie)" ;;
  esac
}

need_root() {
  [[ $(id -u) -eq 0 ]] || die "$1 needs root; run this script as root or do it by hand"
}

ensure_packages() {
  local missing=()
  if ! docker info >/dev/null 2>&1 && ! command -v dockerd >/dev/null 2>&1; then
    missing+=(docker.io)
  fi
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  ((${#missing[@]} == 0)) && return 0
  need_root "installing ${missing[*]}"
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install ${missing[*]} with your package manager"
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_engine() {
  if docker info >/dev/null 2>&1; then
    return 0
  fi
  need_root "starting dockerd"
  log "no Docker engine answers; starting dockerd (log: $dockerd_log)"
  nohup dockerd >"$dockerd_log" 2>&1 &
  local i
  for i in $(seq 1 60); do
    docker info >/dev/null 2>&1 && { log "dockerd is up after ${i}s"; return 0; }
    sleep 1
  done
  tail -n 20 "$dockerd_log" >&2 || true
  die "dockerd did not answer within 60s"
}

build_image() {
  local suite=$1 image rootfs
  image=$(image_for "$suite")
  if ! $rebuild && docker image inspect "$image" >/dev/null 2>&1; then
    log "$image exists, reusing it"
    return 0
  fi
  need_root "debootstrap"
  rootfs=$(mktemp -d "/var/tmp/vigil-rootfs-$suite.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$rootfs'" RETURN
  log "debootstrap $suite from $mirror (about a minute)"
  debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,python3,python3-apt,sudo,iproute2,ca-certificates,procps \
    "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || { tail -n 30 "$rootfs.log" >&2; die "debootstrap $suite failed"; }
  rm -f "$rootfs.log"
  cat >"$rootfs/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
deb http://deb.debian.org/debian-security $suite-security main
SOURCES
  # Containers have no console to wait for and no hardware to set up.
  rm -f "$rootfs"/etc/systemd/system/getty.target.wants/* 2>/dev/null || true
  ln -sf /dev/null "$rootfs/etc/systemd/system/systemd-firstboot.service"
  : >"$rootfs/etc/machine-id"
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
  # No package lists in the image: make them look stale so the first apt run
  # (cache_valid_time) refreshes them instead of finding nothing.
  touch -d '2000-01-01 00:00:00' "$rootfs/var/lib/apt/lists"
  log "importing $image"
  tar -C "$rootfs" -c . | docker import \
    -c 'CMD ["/lib/systemd/systemd"]' -c 'ENV container=docker' \
    - "$image" >/dev/null
  log "$image built"
}

main() {
  ensure_packages
  ensure_engine
  local suite
  for suite in $suites; do
    build_image "$suite"
  done
}

main "$@"
