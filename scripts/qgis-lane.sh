#!/usr/bin/env bash
# The QGIS test suite (tests/plugin, the real-desktop test included) on each QGIS build
# the plugin is tested with: a "lane".
#
#   scripts/qgis-lane.sh run LANE [PYTEST_ARGS]  one lane; LANE is 3.22, 3.40 or 3.44
#   scripts/qgis-lane.sh all                     every lane, then one summary line per lane
#   scripts/qgis-lane.sh build LANE              make the lane's root file system if missing
#   scripts/qgis-lane.sh prefetch                start building missing ones in the background
#   scripts/qgis-lane.sh shell LANE              a shell inside the lane (for debugging)
#   scripts/qgis-lane.sh exec LANE 'COMMAND'     one command inside the lane's checkout copy
#
# 3.22 is this machine (Debian 12's QGIS). 3.40 and 3.44 run in Debian root file systems
# made with mmdebstrap from Debian's own packages (3.40: bookworm + bookworm-backports;
# 3.44: trixie + trixie-backports), kept in $TSMASK_LANES_DIR (/var/cache/tsmask-lanes)
# so a second run does not rebuild them. A root file system is built in a temporary
# folder and renamed when complete, so an interrupted build is never used; it is rebuilt
# when its recipe changes or when it is deleted. Inside, the checkout is copied to
# /src/tsmask-qgis (what .gitignore ignores stays out) and the project's own set-up runs
# there (`make env` with VENV=/opt/tsmask-venv), then `make test-qgis`.
#
# Needs root (or sudo) for mmdebstrap, mount and chroot; installs mmdebstrap and rsync
# with apt when missing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LANES_DIR=${TSMASK_LANES_DIR:-/var/cache/tsmask-lanes}
ALL_LANES=(3.22 3.40 3.44)
RESULTS=${TSMASK_LANE_RESULTS:-$ROOT/build/lanes}  # one <lane>.json per lane run
INNER_SRC=/src/tsmask-qgis
INNER_VENV=/opt/tsmask-venv
# Debian packages in every root file system: QGIS with its Python bindings and desktop
# binary, what `make env` and the headless/desktop tests need.
PACKAGES=python3-qgis,qgis-providers,qgis,python3-venv,python3-pip,xvfb,xauth,ca-certificates,make

die() { echo "qgis-lane: $*" >&2; exit 2; }

if [ "$(id -u)" -ne 0 ] && [ "${1:-}" != "all" ] && [ "${2:-}" != "3.22" ]; then
  command -v sudo >/dev/null || die "lanes in a root file system need root (or sudo)"
  exec sudo --preserve-env=TSMASK_LANES_DIR,TSMASK_DEBIAN_MIRROR "$0" "$@"
fi

# suites and default release of a root-file-system lane
lane_recipe() {
  case "$1" in
    3.40) echo "bookworm bookworm-backports" ;;
    3.44) echo "trixie trixie-backports" ;;
    *) die "unknown lane '$1' (lanes: ${ALL_LANES[*]})" ;;
  esac
}

# The Debian mirror this machine's apt uses (deb822 or one-line sources).
debian_mirror() {
  if [ -n "${TSMASK_DEBIAN_MIRROR:-}" ]; then echo "$TSMASK_DEBIAN_MIRROR"; return; fi
  local uri=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    uri=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '/^deb / && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^(http|https|file):/) {print $i; exit}}' /etc/apt/sources.list)
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

need_host_tools() {
  local missing=()
  command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
  command -v rsync >/dev/null || missing+=(rsync)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "qgis-lane: installing ${missing[*]} on this machine"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
}

# Unmount whatever is mounted under DIR (deepest first): an interrupted build or run can
# leave /proc, /sys or /dev mounted there, and deleting through them would be a disaster.
unmount_under() {
  local dir
  dir=$(realpath -m "$1")
  awk -v d="$dir/" 'index($2 "/", d) == 1 {print $2}' /proc/self/mounts | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m"
  done
}

remove_tree() {  # rm -rf that never crosses into a mounted file system
  unmount_under "$1"
  rm -rf --one-file-system "$1"
}

recipe_id() {  # changes when the lane's recipe changes: the root file system is then rebuilt
  echo "$(lane_recipe "$1") $PACKAGES" | sha256sum | cut -c1-16
}

build() {
  local lane=$1 rootfs="$LANES_DIR/$1" id suites tmp mirror
  id=$(recipe_id "$lane")
  mkdir -p "$LANES_DIR"
  exec 8>"$LANES_DIR/.$lane.build.lock"
  flock 8
  if [ -f "$rootfs/etc/tsmask-lane" ] && [ "$(cat "$rootfs/etc/tsmask-lane")" = "$id" ]; then
    return 0
  fi
  need_host_tools
  suites=$(lane_recipe "$lane")
  mirror=$(debian_mirror)
  local old
  for old in "$LANES_DIR/.$lane.build."*/; do  # leftovers of interrupted builds
    [ -d "$old" ] && remove_tree "$old"
  done
  tmp=$(mktemp -d "$LANES_DIR/.$lane.build.XXXXXX")
  rmdir "$tmp"  # mmdebstrap wants to create the folder
  local first=${suites%% *} sources=()
  for s in $suites; do sources+=("deb $mirror $s main"); done
  echo "qgis-lane: building the $lane root file system ($suites from $mirror) in $tmp"
  local t0=$SECONDS
  mmdebstrap --variant=apt --quiet \
    --aptopt="APT::Default-Release \"${suites##* }\"" \
    --include="$PACKAGES" \
    "$first" "$tmp" "${sources[@]}"
  echo "$id" > "$tmp/etc/tsmask-lane"
  unmount_under "$tmp"
  [ ! -e "$rootfs" ] || remove_tree "$rootfs"  # an older recipe's
  mv "$tmp" "$rootfs"
  echo "qgis-lane: $lane root file system ready in $((SECONDS - t0)) s ($(du -sh "$rootfs" 2>/dev/null | cut -f1))"
}

missing_lanes() {  # root-file-system lanes whose root file system is missing or stale
  local lane
  for lane in "${ALL_LANES[@]}"; do
    [ "$lane" = "3.22" ] && continue
    [ "$(cat "$LANES_DIR/$lane/etc/tsmask-lane" 2>/dev/null)" = "$(recipe_id "$lane")" ] || echo "$lane"
  done
}

prefetch() {  # start the missing builds and return; a later run waits for them (lock)
  local lane
  mkdir -p "$RESULTS"
  for lane in $(missing_lanes); do
    echo "qgis-lane: building the $lane root file system in the background (log: $RESULTS/$lane.build.log)"
    nohup "$0" build "$lane" > "$RESULTS/$lane.build.log" 2>&1 < /dev/null &
  done
}

MOUNTED=()
unmount_all() {
  local i
  for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do umount "${MOUNTED[$i]}" 2>/dev/null || umount -l "${MOUNTED[$i]}" || true; done
  MOUNTED=()
}

enter() {  # enter LANE CMD: run CMD (a bash script) inside the lane's root file system
  local lane=$1 cmd=$2 rootfs="$LANES_DIR/$1"
  exec 9>"$LANES_DIR/.$lane.run.lock"
  flock 9  # one run per root file system at a time
  unmount_under "$rootfs"  # left by a run that was killed
  trap unmount_all EXIT
  mount -t proc proc "$rootfs/proc" && MOUNTED+=("$rootfs/proc")
  mount --bind /sys "$rootfs/sys" && MOUNTED+=("$rootfs/sys")
  mount -t tmpfs -o mode=1777 shm "$rootfs/dev/shm" && MOUNTED+=("$rootfs/dev/shm")
  cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
  mkdir -p "$rootfs/usr/local/share/tsmask"
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/usr/local/share/tsmask/host-ca.crt"
  # the checkout, without what git ignores (.venv, caches, build products); caches made
  # inside are ignored by the same rules and so kept between runs
  mkdir -p "$rootfs$INNER_SRC"
  rsync -a --delete --exclude=/.git --filter=':- .gitignore' "$ROOT/" "$rootfs$INNER_SRC/"
  local rc=0
  chroot "$rootfs" /usr/bin/env -i \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    PIP_CERT=/usr/local/share/tsmask/host-ca.crt PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_DEFAULT_TIMEOUT=120 VENV="$INNER_VENV" CI="${CI:-}" \
    /bin/bash -c "cd $INNER_SRC && $cmd" || rc=$?
  unmount_all
  trap - EXIT
  return $rc
}

# run LANE [PYTEST_ARGS]: the set-up and the QGIS tests; writes $RESULTS/LANE.json
run() {
  local lane=$1; shift
  local args="${*:-}" t0=$SECONDS rc=0 report versions
  mkdir -p "$RESULTS"
  rm -f "$RESULTS/$lane.json"
  if [ "$lane" = "3.22" ]; then
    report="$RESULTS/$lane.junit.xml"
    rm -f "$report"
    make -C "$ROOT" --no-print-directory test-qgis PYTEST_ARGS="--junitxml=$report $args" || rc=$?
    versions=$("$ROOT/${VENV:-.venv}/bin/python" "$ROOT/scripts/lane_summary.py" --versions 2>/dev/null) || versions="QGIS ?, Python ?"
  else
    lane_recipe "$lane" >/dev/null
    build "$lane"
    report="$LANES_DIR/$lane/tmp/tsmask-lane-junit.xml"
    rm -f "$report"
    rm -f "$LANES_DIR/$lane/tmp/tsmask-lane-versions"
    enter "$lane" "make --no-print-directory test-qgis PYTEST_ARGS='--junitxml=/tmp/tsmask-lane-junit.xml $args'; rc=\$?
      $INNER_VENV/bin/python scripts/lane_summary.py --versions > /tmp/tsmask-lane-versions 2>/dev/null; exit \$rc" || rc=$?
    versions=$(cat "$LANES_DIR/$lane/tmp/tsmask-lane-versions" 2>/dev/null) || versions="QGIS ?, Python ?"
  fi
  /usr/bin/python3 "$ROOT/scripts/lane_summary.py" --lane "$lane" --versions-line "$versions" \
    --junit "$report" --exit-code "$rc" --seconds "$((SECONDS - t0))" --out "$RESULTS/$lane.json"
  return "$rc"
}

all() {
  local lane i rc=0 builds=() pids=() results=()
  mkdir -p "$RESULTS"
  # build missing root file systems in the background while the host lane runs
  for lane in $(missing_lanes); do
    echo "qgis-lane: building the $lane root file system in the background (log: $RESULTS/$lane.build.log)"
    "$0" build "$lane" >> "$RESULTS/$lane.build.log" 2>&1 &
    builds+=("$lane"); pids+=($!)
  done
  for lane in "${ALL_LANES[@]}"; do
    for i in "${!builds[@]}"; do
      if [ "${builds[$i]}" = "$lane" ]; then
        wait "${pids[$i]}" || echo "qgis-lane: building the $lane root file system failed" >&2
        cat "$RESULTS/$lane.build.log"
      fi
    done
    echo "===== QGIS lane $lane ====="
    "$0" run "$lane" || rc=1
    results+=("$RESULTS/$lane.json")
  done
  echo "===== QGIS lanes ====="
  for lane in "${ALL_LANES[@]}"; do
    /usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["line"])' "$RESULTS/$lane.json" 2>/dev/null \
      || echo "lane $lane: no result"
  done
  /usr/bin/python3 "$ROOT/scripts/lane_summary.py" --total "${results[@]}" || rc=1
  return $rc
}

case "${1:-}" in
  run) [ $# -ge 2 ] || die "usage: $0 run LANE [PYTEST_ARGS]"; lane=$2; shift 2; run "$lane" "$@" ;;
  all) all ;;
  prefetch) prefetch ;;
  build) [ $# -eq 2 ] || die "usage: $0 build LANE"; build "$2" ;;
  shell) [ $# -eq 2 ] || die "usage: $0 shell LANE"; build "$2"; enter "$2" "exec bash -i" ;;
  exec) [ $# -eq 3 ] || die "usage: $0 exec LANE 'COMMAND'"; build "$2"; enter "$2" "$3" ;;
  *) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
