#!/usr/bin/env bash
# Private, throw-away MariaDB server for the test suite.
#   scripts/mariadb.sh start DIR PORT   install (if needed), init DIR, start on 127.0.0.1:PORT
#   scripts/mariadb.sh stop DIR         shut down the server owning DIR
set -euo pipefail

DB_NAME=galapagos_test DB_USER=galapagos DB_PASS=galapagos
# shellcheck source=scripts/service.sh
source "$(dirname "${BASH_SOURCE[0]}")/service.sh"
usage() { echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2; }

find_server() { command -v mariadbd || command -v mysqld || true; }

# Run SQL as root over the private socket.
sql() { mariadb --no-defaults --socket="$SOCK" -uroot -e "$1"; }
ping_ok() { mariadb-admin --no-defaults --socket="$SOCK" -uroot --connect-timeout=2 ping >/dev/null 2>&1; }
running_pid() { # prints pid if the pid file points at a live process
  local pid
  [[ -f $PIDFILE ]] && pid=$(<"$PIDFILE") && [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

ensure_db_user() {
  # drop anonymous users and root@<hostname> (noisy/unused under --skip-name-resolve)
  sql "DELETE FROM mysql.global_priv WHERE User='' OR (User='root' AND Host NOT IN
      ('localhost','127.0.0.1','::1'));
    DELETE FROM mysql.proxies_priv WHERE Host NOT IN ('localhost','127.0.0.1','::1'); FLUSH PRIVILEGES;
    CREATE DATABASE IF NOT EXISTS \`$DB_NAME\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
    CREATE USER IF NOT EXISTS '$DB_USER'@'%' IDENTIFIED BY '$DB_PASS';
    CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
    GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'%';
    GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'localhost';" || die "creating database/user failed"
  log "database '$DB_NAME' and user '$DB_USER' ready"
}

start() {
  local port=$1 server pid i
  [[ $port =~ ^[0-9]+$ ]] || die "PORT must be a number, got '$port'"
  if [[ -n $(running_pid) ]] && ping_ok; then
    log "already running (pid $(running_pid)) on $DIR"; ensure_db_user; return 0
  fi
  server=$(find_server)
  [[ -n $server ]] || { install_debian_package mariadb-server; server=$(find_server); }
  [[ -n $server ]] || die "mariadbd/mysqld not found even after install"
  local user_opt=()
  [[ $EUID -eq 0 ]] && user_opt=(--user=root)   # mariadbd refuses to run as root otherwise
  mkdir -p "$DIR"
  rm -f "$PIDFILE" "$SOCK"                      # stale leftovers from a crash
  if [[ ! -d $DIR/mysql ]]; then
    log "initialising data directory $DIR"
    mariadb-install-db --no-defaults "${user_opt[@]}" --datadir="$DIR" \
      --auth-root-authentication-method=normal --skip-test-db \
      >"$DIR/install.log" 2>&1 || { ERRLOG=$DIR/install.log; die "mariadb-install-db failed"; }
  fi
  log "starting $server on 127.0.0.1:$port"
  : >"$ERRLOG"
  setsid "$server" --no-defaults "${user_opt[@]}" --datadir="$DIR" --socket="$SOCK" \
    --pid-file="$PIDFILE" --log-error="$ERRLOG" --port="$port" --bind-address=127.0.0.1 \
    --skip-name-resolve --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    --innodb-buffer-pool-size=128M --max-connections=200 \
    --skip-log-bin --performance-schema=OFF </dev/null >/dev/null 2>&1 9>&- &
  pid=$!
  for ((i = 0; i < 120; i++)); do
    ping_ok && break
    kill -0 "$pid" 2>/dev/null || die "mariadbd exited during startup"
    sleep 0.5
  done
  ping_ok || die "mariadbd did not accept connections within 60 s"
  log "server up (pid $pid)"
  ensure_db_user
}

stop() {
  local pid i
  pid=$(running_pid || true)
  if [[ -z $pid ]]; then log "not running ($DIR)"; rm -f "$PIDFILE"; return 0; fi
  log "stopping pid $pid"
  mariadb-admin --no-defaults --socket="$SOCK" -uroot shutdown >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 120; i++)); do
    kill -0 "$pid" 2>/dev/null || { log "stopped"; return 0; }
    sleep 0.5
  done
  log "still alive after 60 s, sending SIGKILL"; kill -KILL "$pid" 2>/dev/null || true
}

[[ $# -ge 2 ]] || usage
CMD=$1 DIR=$(realpath -m -- "$2")
SOCK=$DIR/mysqld.sock PIDFILE=$DIR/mysqld.pid ERRLOG=$DIR/mysqld.err
(( ${#SOCK} < 108 )) || die "socket path too long (${#SOCK} chars, max 107): $SOCK"
exec 9>/tmp/.galapagos-mariadb.lock; flock 9   # serialise concurrent start/stop/install
case $CMD in
  start) [[ $# -eq 3 ]] || usage; start "$3" ;;
  stop) [[ $# -eq 2 ]] || usage; stop ;;
  *) usage ;;
esac
