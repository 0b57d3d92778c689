#!/usr/bin/env bash
# Private, throw-away Redis server for the test suite (GPU discovery shared by API replicas).
#   scripts/redis.sh start DIR PORT   install Debian's redis-server (if needed), start it on
#                                     127.0.0.1:PORT with nothing persisted, wait for PONG
#   scripts/redis.sh stop DIR         shut down the server owning DIR
set -euo pipefail

# shellcheck source=scripts/service.sh
source "$(dirname "${BASH_SOURCE[0]}")/service.sh"
usage() { echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2; }

find_server() { command -v redis-server || true; }

pong() { # PORT: the server answers PING
  python3 - "$1" >/dev/null 2>&1 <<'PY'
import socket, sys
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2) as s:
    s.sendall(b"PING\r\n")
    sys.exit(0 if s.recv(16).startswith(b"+PONG") else 1)
PY
}

running_pid() { # prints pid if the pid file points at a live redis-server
  local pid
  [[ -f $PIDFILE ]] && pid=$(<"$PIDFILE") && [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
    && grep -q redis-server "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
}

start() {
  local port=$1 server pid i
  [[ $port =~ ^[0-9]+$ ]] || die "PORT must be a number, got '$port'"
  if [[ -n $(running_pid || true) ]]; then log "already running (pid $(running_pid))"; return 0; fi
  server=$(find_server)
  [[ -n $server ]] || { install_debian_package redis-server; server=$(find_server); }
  [[ -n $server ]] || die "redis-server not found even after install"
  mkdir -p "$DIR"
  ERRLOG=$DIR/redis.log; : >"$ERRLOG"          # from here on, die() shows its tail
  log "starting $server on 127.0.0.1:$port"
  setsid nohup "$server" --bind 127.0.0.1 --port "$port" --dir "$DIR" --save "" \
    --appendonly no --protected-mode yes --logfile "$ERRLOG" \
    </dev/null >>"$ERRLOG" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$PIDFILE"
  for ((i = 0; i < 60; i++)); do
    pong "$port" && { log "server up (pid $pid)"; return 0; }
    kill -0 "$pid" 2>/dev/null || { rm -f "$PIDFILE"; die "redis-server exited during startup"; }
    sleep 0.5
  done
  die "redis-server not answering on 127.0.0.1:$port within 30 s (pid $pid still running)"
}

[[ $# -ge 2 ]] || usage
CMD=$1 DIR=$(realpath -m -- "$2") ERRLOG=""
PIDFILE=$DIR/redis.pid
exec 9>/tmp/.galapagos-redis.lock; flock 9   # serialise concurrent start/stop/install
case $CMD in
  start) [[ $# -eq 3 ]] || usage; start "$3" ;;
  stop) [[ $# -eq 2 ]] || usage; stop ;;
  *) usage ;;
esac
