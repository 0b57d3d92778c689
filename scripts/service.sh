# What the private test services (mariadb.sh, prometheus.sh, redis.sh) share; sourced by them.
#   log MESSAGE, die MESSAGE          (die shows the tail of $ERRLOG when it is set)
#   stop                              (prometheus.sh, redis.sh: SIGTERM, then SIGKILL after 10 s)
#   install_debian_package PACKAGE    (needs root; the package's service start is blocked via
#                                      policy-rc.d, restored to what was there afterwards)

export PATH="$PATH:/usr/sbin:/sbin"

log() { echo "$(basename "$0"): $*" >&2; }
die() {
  log "ERROR: $*"
  if [[ -n "${ERRLOG:-}" && -f "$ERRLOG" ]]; then
    log "--- tail of $ERRLOG ---"; tail -n 30 "$ERRLOG" >&2
  fi
  exit 1
}

install_debian_package() {
  local package=$1 policy=/usr/sbin/policy-rc.d backup="" ERRLOG  # the caller's log kept
  [[ $EUID -eq 0 ]] || die "$package is not installed and we are not root"
  log "installing Debian $package (service start blocked via policy-rc.d)"
  if [[ -e $policy ]]; then backup=$(mktemp); cp -p "$policy" "$backup"; fi
  # shellcheck disable=SC2064  # expand now: restore exactly what was there
  trap "if [[ -n '$backup' ]]; then mv -f '$backup' '$policy'; else rm -f '$policy'; fi" EXIT
  printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"
  ERRLOG=$(mktemp "/tmp/$package-apt.XXXXXX.log")
  apt-get update >"$ERRLOG" 2>&1 || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "$package" >>"$ERRLOG" 2>&1 || die "apt-get install $package failed"
  rm -f "$ERRLOG"
  trap - EXIT
  if [[ -n $backup ]]; then mv -f "$backup" "$policy"; else rm -f "$policy"; fi
}

stop() { # the server running_pid prints (each script defines it, DIR and PIDFILE): SIGTERM,
         # up to 10 s to go, then SIGKILL
  local pid i
  pid=$(running_pid || true)
  if [[ -z $pid ]]; then log "not running ($DIR)"; rm -f "$PIDFILE"; return 0; fi
  log "stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 20; i++)); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$PIDFILE"; log "stopped"; return 0; }
    sleep 0.5
  done
  log "still alive after 10 s, sending SIGKILL"; kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 20; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  rm -f "$PIDFILE"
}
