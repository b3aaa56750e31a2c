# shellcheck shell=bash
# A throwaway Redis for the main job's shared-state run: `source` this
# file, then
#
#   redis_start    start redis-server on a free 127.0.0.1 port in a
#                  temporary directory (no persistence), as the unprivileged
#                  user REDIS_USER (default `redis`) through setpriv when run
#                  as root; export TRESOR_REDIS_URL;
#   redis_stop     stop it and remove its directory.
#
# (tresor-redis' tests start their own servers, one per test.)

REDIS_USER="${REDIS_USER:-redis}"

redis_start() {
  local dir port as=()
  dir="$(mktemp -d "${TMPDIR:-/tmp}/tresor-redis.XXXXXX")"
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
  if [[ "$(id -u)" == 0 ]] && id "$REDIS_USER" >/dev/null 2>&1; then
    chown "$REDIS_USER" "$dir"
    as=(setpriv --reuid="$REDIS_USER" --regid="$(id -g "$REDIS_USER")" --clear-groups --)
  fi
  "${as[@]}" redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$dir" >"$dir/server.log" 2>&1 &
  REDIS_PID=$!
  REDIS_DIR="$dir"
  local i
  for i in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      export TRESOR_REDIS_URL="redis://127.0.0.1:$port"
      echo "redis: $(redis-server --version | cut -d' ' -f1-3) on 127.0.0.1:$port (TRESOR_REDIS_URL set)"
      return 0
    fi
    sleep 0.1
  done
  cat "$dir/server.log" >&2
  return 1
}

redis_stop() {
  [[ -n "${REDIS_PID:-}" ]] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
  [[ -n "${REDIS_DIR:-}" && -d "$REDIS_DIR" ]] && rm -rf "$REDIS_DIR"
  REDIS_PID=
  REDIS_DIR=
  return 0
}
