# shellcheck shell=bash
# Sourced by conformance/run-all.sh (and usable by any suite script that wants its own
# server): build dialbook once, start it on a free 127.0.0.1 port with a throwaway data
# directory and two accounts, stop it again on exit.
#
#   . conformance/common.sh
#   start_server          # exports DIALBOOK_URL, DIALBOOK_USER1/2, DIALBOOK_PASSWORD1/2
#   ...                   # stop_server runs from the EXIT trap (or call it yourself)
#
# Environment:
#   DIALBOOK_BIN        use this binary instead of building target/release/dialbook
#   DIALBOOK_SKIP_BUILD=1  do not run cargo (the binary must already exist)
#   DATABASE_URL        if set, the server runs on a fresh PostgreSQL database created
#                       next to the one named (needs psql and CREATEDB rights); if that
#                       cannot be done, it falls back to SQLite and says so.
#   KEEP_WORK=1         keep the data directory (and server log) after the run

CONFORMANCE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$CONFORMANCE_DIR/.." && pwd)"
export CONFORMANCE_DIR REPO_ROOT

DIALBOOK_PID=""
CONF_DATA_DIR=""
DIALBOOK_PG_ADMIN_URL=""
DIALBOOK_PG_DB=""

log() { printf '[conformance] %s\n' "$*" >&2; }

build_server() {
  if [ -n "${DIALBOOK_BIN:-}" ]; then
    [ -x "$DIALBOOK_BIN" ] || { log "DIALBOOK_BIN=$DIALBOOK_BIN is not executable"; return 1; }
    return 0
  fi
  DIALBOOK_BIN="$REPO_ROOT/target/release/dialbook"
  if [ "${DIALBOOK_SKIP_BUILD:-0}" != 1 ]; then
    log "cargo build --release --locked --bin dialbook"
    (cd "$REPO_ROOT" && cargo build --release --locked --bin dialbook) >&2
  fi
  [ -x "$DIALBOOK_BIN" ] || { log "no binary at $DIALBOOK_BIN"; return 1; }
  # Later calls (another suite in the same shell) do not rebuild.
  DIALBOOK_SKIP_BUILD=1
  export DIALBOOK_BIN DIALBOOK_SKIP_BUILD
}

free_port() {
  python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

random_password() {
  # 24 characters from [A-Za-z0-9]; head closes the pipe early, hence || true.
  LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom 2>/dev/null | head -c 24 || true
}

# Sets DIALBOOK_DB_ARGS (array) for every dialbook command of this run.
choose_database() {
  DIALBOOK_DB_ARGS=()
  if [ -z "${DATABASE_URL:-}" ]; then
    return 0
  fi
  case "$DATABASE_URL" in
    postgres://* | postgresql://*) ;;
    *)
      log "DATABASE_URL is not a PostgreSQL URL; using SQLite"
      return 0
      ;;
  esac
  if ! command -v psql >/dev/null 2>&1; then
    log "DATABASE_URL is set but psql is missing; using SQLite"
    return 0
  fi
  local base="${DATABASE_URL%%\?*}" db
  db="dialbook_conformance_$$_$(date +%s)"
  if ! psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $db" >/dev/null 2>&1; then
    log "could not create a fresh PostgreSQL database next to DATABASE_URL; using SQLite"
    return 0
  fi
  DIALBOOK_PG_ADMIN_URL="$DATABASE_URL"
  DIALBOOK_PG_DB="$db"
  DIALBOOK_DB_ARGS=(--database-url "${base%/*}/$db")
  log "PostgreSQL database $db (dropped on stop)"
}

# The command line of dialbook with the run's database, into the array DIALBOOK_CMD.
# DATABASE_URL and dialbook's own variables are removed from its environment so settings
# meant for cargo test or a real instance never reach this throwaway server. `env` execs
# dialbook, so a background job's $! is the server's own PID.
dialbook_argv() {
  DIALBOOK_CMD=(env -u DATABASE_URL -u DIALBOOK_CONFIG -u DIALBOOK_DATA_DIR -u DIALBOOK_REGION
    -u DIALBOOK_LISTEN -u DIALBOOK_PUBLIC_URL -u DIALBOOK_FIRST_NUMBER -u DIALBOOK_CONFLICT_POLICY
    DIALBOOK_LOG="${DIALBOOK_LOG:-warn}"
    "$DIALBOOK_BIN" "$@" --data-dir "$CONF_DATA_DIR" "${DIALBOOK_DB_ARGS[@]}")
}
dialbook_cmd() {
  dialbook_argv "$@"
  "${DIALBOOK_CMD[@]}"
}

start_server() {
  build_server
  CONF_DATA_DIR="$(mktemp -d "${TMPDIR:-/tmp}/dialbook-conformance.XXXXXX")"
  export CONF_DATA_DIR
  trap stop_server EXIT
  choose_database

  DIALBOOK_USER1="+442079460001"
  DIALBOOK_USER2="+442079460002"
  DIALBOOK_PASSWORD1="$(random_password)"
  DIALBOOK_PASSWORD2="$(random_password)"
  printf '%s\n' "$DIALBOOK_PASSWORD1" | dialbook_cmd account add "$DIALBOOK_USER1" --password-stdin >&2
  printf '%s\n' "$DIALBOOK_PASSWORD2" | dialbook_cmd account add "$DIALBOOK_USER2" --password-stdin >&2

  local port
  port="$(free_port)"
  DIALBOOK_URL="http://127.0.0.1:$port/"
  # Extra arguments to start_server go to `dialbook serve` (e.g. a conflict policy).
  dialbook_argv serve --listen "127.0.0.1:$port" "$@"
  "${DIALBOOK_CMD[@]}" >"$CONF_DATA_DIR/server.log" 2>&1 &
  DIALBOOK_PID=$!

  local i code=""
  for i in $(seq 1 100); do
    if ! kill -0 "$DIALBOOK_PID" 2>/dev/null; then
      log "server exited early; log follows"
      cat "$CONF_DATA_DIR/server.log" >&2
      DIALBOOK_PID=""
      return 1
    fi
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "${DIALBOOK_URL}health" || true)"
    [ "$code" = 200 ] && break
    sleep 0.2
  done
  if [ "$code" != 200 ]; then
    log "GET /health never answered 200 (last: ${code:-none}, after $i tries)"
    return 1
  fi
  log "dialbook (pid $DIALBOOK_PID) at $DIALBOOK_URL, data in $CONF_DATA_DIR"
  export DIALBOOK_URL DIALBOOK_PID DIALBOOK_USER1 DIALBOOK_USER2 DIALBOOK_PASSWORD1 DIALBOOK_PASSWORD2
}

stop_server() {
  if [ -n "$DIALBOOK_PID" ]; then
    kill "$DIALBOOK_PID" 2>/dev/null || true
    local i
    for i in $(seq 1 50); do
      kill -0 "$DIALBOOK_PID" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$DIALBOOK_PID" 2>/dev/null; then
      log "server $DIALBOOK_PID still running after ${i} waits; SIGKILL"
      kill -9 "$DIALBOOK_PID" 2>/dev/null || true
    fi
    wait "$DIALBOOK_PID" 2>/dev/null || true
    DIALBOOK_PID=""
  fi
  if [ -n "$DIALBOOK_PG_DB" ]; then
    psql "$DIALBOOK_PG_ADMIN_URL" -q -c "DROP DATABASE IF EXISTS $DIALBOOK_PG_DB WITH (FORCE)" >/dev/null 2>&1 \
      || psql "$DIALBOOK_PG_ADMIN_URL" -q -c "DROP DATABASE IF EXISTS $DIALBOOK_PG_DB" >/dev/null 2>&1 \
      || log "could not drop PostgreSQL database $DIALBOOK_PG_DB"
    DIALBOOK_PG_DB=""
  fi
  if [ -n "$CONF_DATA_DIR" ] && [ -d "$CONF_DATA_DIR" ]; then
    if [ "${KEEP_WORK:-0}" = 1 ]; then
      log "kept $CONF_DATA_DIR"
    else
      rm -rf -- "$CONF_DATA_DIR"
    fi
    CONF_DATA_DIR=""
  fi
}
