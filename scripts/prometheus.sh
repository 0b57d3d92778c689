#!/usr/bin/env bash
# Private, throw-away Prometheus server for the test suite.
#   scripts/prometheus.sh start DIR PORT TARGET [INTERVAL]
#       install (if needed), write DIR/prometheus.yml with one scrape job "ray" scraping
#       TARGET (host:port, plain /metrics) every INTERVAL (default 1s), start on
#       127.0.0.1:PORT and wait until /-/ready; a server already running from DIR is
#       restarted so that the new config takes effect
#   scripts/prometheus.sh stop DIR     shut down the server owning DIR
set -euo pipefail

# shellcheck source=scripts/service.sh
source "$(dirname "${BASH_SOURCE[0]}")/service.sh"
usage() { echo "usage: $0 start DIR PORT TARGET [INTERVAL] | stop DIR" >&2; exit 2; }

find_server() { command -v prometheus || true; }

ready_ok() { # /-/ready answers 200 once the TSDB is open and the web handler serves
  local url="http://127.0.0.1:$1/-/ready"
  if command -v curl >/dev/null; then
    curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null
  else
    python3 - "$url" >/dev/null 2>&1 <<'EOF'
import sys, urllib.request
sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=2).status == 200 else 1)
EOF
  fi
}
running_pid() { # prints pid if the pid file points at a live prometheus using DIR's config
  local pid
  [[ -f $PIDFILE ]] && pid=$(<"$PIDFILE") && [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
    && tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "--config.file=$CONFIG" \
    && echo "$pid"
}

write_config() { # TARGET INTERVAL
  local tmp
  tmp=$(mktemp "$DIR/.prometheus.yml.XXXXXX")
  cat >"$tmp" <<EOF
# written by scripts/prometheus.sh -- regenerated on every start
global:
  scrape_interval: $2
  scrape_timeout: $2
  evaluation_interval: $2
scrape_configs:
  - job_name: "ray"
    metrics_path: /metrics
    static_configs:
      - targets: ["$1"]
EOF
  mv -f "$tmp" "$CONFIG"
}

start() {
  local port=$1 target=$2 interval=${3:-1s} server pid i
  [[ $port =~ ^[0-9]+$ ]] || die "PORT must be a number, got '$port'"
  [[ $target =~ ^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):[0-9]+$ ]] \
    || die "TARGET must be host:port, got '$target'"
  [[ $interval =~ ^([0-9]+(ms|s|m|h|d|w|y))+$ ]] \
    || die "INTERVAL must be a Prometheus duration such as 1s or 500ms, got '$interval'"
  if [[ -n $(running_pid || true) ]]; then
    log "already running (pid $(running_pid)) on $DIR, restarting with the new config"; stop
  fi
  server=$(find_server)
  [[ -n $server ]] || { install_debian_package prometheus; server=$(find_server); }
  [[ -n $server ]] || die "prometheus not found even after install"
  mkdir -p "$DIR/data"
  rm -f "$PIDFILE"                              # stale leftover from a crash
  write_config "$target" "$interval"
  log "starting $server on 127.0.0.1:$port, scraping $target every $interval"
  ERRLOG=$LOGFILE; : >"$ERRLOG"                # from here on, die() shows its tail
  setsid nohup "$server" --config.file="$CONFIG" --storage.tsdb.path="$DIR/data" \
    --web.listen-address="127.0.0.1:$port" --web.enable-lifecycle \
    </dev/null >>"$ERRLOG" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$PIDFILE"
  for ((i = 0; i < 60; i++)); do
    ready_ok "$port" && break
    kill -0 "$pid" 2>/dev/null || { rm -f "$PIDFILE"; die "prometheus exited during startup"; }
    sleep 0.5
  done
  ready_ok "$port" || die "prometheus not ready on 127.0.0.1:$port within 30 s (pid $pid still running)"
  log "server up (pid $pid)"
}

[[ $# -ge 2 ]] || usage
CMD=$1 DIR=$(realpath -m -- "$2")
CONFIG=$DIR/prometheus.yml PIDFILE=$DIR/prometheus.pid LOGFILE=$DIR/prometheus.log ERRLOG=""
exec 9>/tmp/.galapagos-prometheus.lock; flock 9   # serialise concurrent start/stop/install
case $CMD in
  start) [[ $# -ge 4 && $# -le 5 ]] || usage; start "$3" "$4" "${5:-}" ;;
  stop) [[ $# -eq 2 ]] || usage; stop ;;
  *) usage ;;
esac
