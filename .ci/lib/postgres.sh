# shellcheck shell=bash
# A throwaway PostgreSQL cluster for the tests: `source` this file, then
#
#   pg_start_cluster    initdb in a temporary directory, start the server on a
#                       free 127.0.0.1 port (loopback only, trust auth for the
#                       role `tresor`), export TRESOR_POSTGRES_URL and
#                       TRESOR_POSTGRES_CTL, and stop it all when the calling
#                       shell exits (trap on EXIT);
#   pg_stop_cluster     stop the server and remove its directory.
#
# TRESOR_POSTGRES_CTL names a small script taking `stop` or `start`: the
# outage tests stop the server in the middle of a run and start it again on
# the same port and data directory.
#
# initdb refuses to run as root: as root, the server runs as the
# unprivileged user PG_USER (default `postgres`) through runuser; otherwise
# as the current user. The binaries come from PATH, else from the newest
# /usr/lib/postgresql/*/bin.

PG_USER="${PG_USER:-postgres}"

pg_bindir() {
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v pg_ctl)"
    return 0
  fi
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [[ -n "$d" && -x "$d/initdb" ]] || { echo "postgres: no initdb/pg_ctl found" >&2; return 1; }
  echo "$d"
}

pg_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

pg_start_cluster() {
  local bin dir port as=()
  bin="$(pg_bindir)" || return 1
  dir="$(mktemp -d "${TMPDIR:-/tmp}/tresor-pg.XXXXXX")"
  port="$(pg_free_port)"
  mkdir "$dir/sock"
  if [[ "$(id -u)" == 0 ]]; then
    chown "$PG_USER" "$dir" "$dir/sock"
    as=(runuser -u "$PG_USER" --)
  fi
  "${as[@]}" "$bin/initdb" -D "$dir/data" -U tresor -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; return 1; }
  # The control script the outage tests run (stop / start, same port).
  cat >"$dir/ctl" <<CTL
#!/usr/bin/env bash
set -euo pipefail
case "\${1:-}" in
  stop)  exec ${as[*]} "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null ;;
  start) exec ${as[*]} "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \\
           -o "-c listen_addresses=127.0.0.1 -p $port -k $dir/sock -c fsync=off" start >/dev/null ;;
  *) echo "usage: \$0 stop|start" >&2; exit 2 ;;
esac
CTL
  chmod 755 "$dir/ctl"
  "$dir/ctl" start || { cat "$dir/server.log" >&2; return 1; }
  PG_CLUSTER_DIR="$dir"
  export TRESOR_POSTGRES_URL="postgres://tresor@127.0.0.1:$port/postgres"
  export TRESOR_POSTGRES_CTL="$dir/ctl"
  trap pg_stop_cluster EXIT
  echo "postgres: $("$bin/postgres" --version) on 127.0.0.1:$port (TRESOR_POSTGRES_URL, TRESOR_POSTGRES_CTL set)"
}

pg_stop_cluster() {
  [[ -n "${PG_CLUSTER_DIR:-}" && -d "$PG_CLUSTER_DIR" ]] || return 0
  "$PG_CLUSTER_DIR/ctl" stop 2>/dev/null || true
  rm -rf "$PG_CLUSTER_DIR"
  PG_CLUSTER_DIR=
}
