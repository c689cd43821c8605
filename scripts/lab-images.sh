#!/usr/bin/env bash
# Prepare the container lab: a Docker engine and the local systemd base images.
#
# Works in a closed network (only Debian's archive is needed) and on an ordinary
# Linux box with Docker. Installing packages and starting dockerd need root; when the
# engine already answers and the images exist, nothing needs root.
#
#   scripts/lab-images.sh                # engine + both images (reused when present)
#   scripts/lab-images.sh --rebuild      # build the images again
#   scripts/lab-images.sh --print-mirror # print the Debian and security mirrors it would use
#
# The images are built from the Debian mirror this machine's apt uses (the first
# enabled `deb` source of a Debian suite with the main component, in apt's order:
# /etc/apt/sources.list, then /etc/apt/sources.list.d/*.list and *.sources), so a site
# with a local mirror or an apt proxy URL works unchanged; deb.debian.org otherwise.
#
# Environment:
#   VIGIL_DEBIAN_MIRROR           Debian mirror (default: from apt's sources, see above)
#   VIGIL_DEBIAN_SECURITY_MIRROR  security mirror (default: from apt's sources, else deb.debian.org)
#   VIGIL_LAB_SUITES              suites to build (default "bookworm trixie")
#   VIGIL_DOCKERD_LOG             where a dockerd started here logs (default /var/log/vigil-dockerd.log)
#   VIGIL_APT_ROOT                read apt's sources under this directory instead of / (tests)
set -euo pipefail

apt_root=${VIGIL_APT_ROOT:-}

# The first Debian URI of apt's sources: "archive" (a plain suite such as bookworm) or
# "security" (bookworm-security). Prints nothing when there is none.
apt_debian_uri() {
  local kind=$1 file files=()
  [[ -f $apt_root/etc/apt/sources.list ]] && files+=("$apt_root/etc/apt/sources.list")
  for file in "$apt_root"/etc/apt/sources.list.d/*; do
    [[ -f $file && ( $file == *.list || $file == *.sources ) ]] && files+=("$file")
  done
  local uri program
  for file in "${files[@]}"; do
    program=apt_oneline_awk
    [[ $file == *.sources ]] && program=apt_deb822_awk
    uri=$(awk -v kind="$kind" -f <("$program") "$file" 2>/dev/null || true)
    if [[ -n $uri ]]; then
      printf '%s\n' "$uri"
      return 0
    fi
  done
}

# Shared awk: is this suite of the wanted kind?
apt_suite_awk() {
  cat <<'AWK'
function wanted(suite,    base) {
  base = suite
  if (kind == "security") {
    if (suite !~ /-security$/ && suite !~ /\/updates$/) return 0
    sub(/-security$/, "", base); sub(/\/updates$/, "", base)
  } else if (suite ~ /-/) return 0
  return base ~ /^(buster|bullseye|bookworm|trixie|forky|duke|sid|stable|testing|unstable|oldstable|oldoldstable)$/
}
AWK
}

apt_oneline_awk() {
  apt_suite_awk
  cat <<'AWK'
/^[ \t]*deb[ \t]/ {
  i = 2
  if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
  uri = $i; suite = $(i + 1); main = 0
  for (j = i + 2; j <= NF && $j !~ /^#/; j++) if ($j == "main") main = 1
  if (main && wanted(suite)) { sub(/\/+$/, "", uri); print uri; exit }
}
AWK
}

apt_deb822_awk() {
  apt_suite_awk
  cat <<'AWK'
BEGIN { RS = ""; FS = "\n" }
{
  delete f; key = ""
  for (n = 1; n <= NF; n++) {
    line = $n
    if (line ~ /^#/) continue
    if (line ~ /^[ \t]/ && key != "") { f[key] = f[key] " " line; continue }
    key = tolower(line); sub(/:.*/, "", key)
    value = line; sub(/^[^:]*:[ \t]*/, "", value); f[key] = value
  }
  if (tolower(f["enabled"]) == "no") next
  if ((" " f["types"] " ") !~ /[ \t]deb[ \t]/) next
  if ((" " f["components"] " ") !~ /[ \t]main[ \t]/) next
  ns = split(f["suites"], suites, /[ \t]+/)
  nu = split(f["uris"], uris, /[ \t]+/)
  for (s = 1; s <= ns; s++) if (suites[s] != "" && wanted(suites[s]))
    for (u = 1; u <= nu; u++) if (uris[u] != "") { uri = uris[u]; sub(/\/+$/, "", uri); print uri; exit }
}
AWK
}

mirror=${VIGIL_DEBIAN_MIRROR:-$(apt_debian_uri archive)}
mirror=${mirror:-http://deb.debian.org/debian}
security_mirror=${VIGIL_DEBIAN_SECURITY_MIRROR:-$(apt_debian_uri security)}
security_mirror=${security_mirror:-http://deb.debian.org/debian-security}
suites=${VIGIL_LAB_SUITES:-bookworm trixie}
dockerd_log=${VIGIL_DOCKERD_LOG:-/var/log/vigil-dockerd.log}
rebuild=false
[[ ${1:-} == --rebuild ]] && rebuild=true
if [[ ${1:-} == --print-mirror ]]; then
  printf '%s\n%s\n' "$mirror" "$security_mirror"
  exit 0
fi

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
  log "no Docker engine answers; starting dockerd in its own session (log: $dockerd_log)"
  # setsid: dockerd leaves this process group and terminal session, so an interrupted
  # `make test` (Ctrl-C, or CI stopping it) does not stop the engine under every other
  # user of it.
  setsid --fork dockerd </dev/null >"$dockerd_log" 2>&1
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
deb $security_mirror $suite-security main
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
