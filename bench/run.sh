#!/usr/bin/env bash
# dialbook against Radicale and Xandikos (from PyPI), same scenarios, interleaved rounds.
#
#   bench/run.sh [--n 1000,10000] [--rounds 3] [--quick] [--servers dialbook,radicale,xandikos]
#                [--s5-secs 30] [--max-secs 300] [--no-results]
#
# Builds dialbook and the load client (cargo build --release --locked), installs the peers
# into bench/.venv, then for every round and every N starts each server fresh (new data
# directory, free 127.0.0.1 port), runs bench/target's dialbook-bench against it, samples its
# peak RSS and data directory size, and stops it by PID. JSON lines go to
# bench/out/RUN_ID/results.jsonl; the median table (with dialbook's ratio to each peer) is
# printed and written to bench/RESULTS.md (unless --no-results).
#
# --quick: N=200, 1 round, S5 for 5 s, 200 S4 requests, 20 race trials (a smoke run).
#
# Environment: RADICALE_VERSION (default 3.9.0), XANDIKOS_VERSION (default 0.4.10),
# KEEP_WORK=1 keeps the servers' data directories and logs.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
VENV="$HERE/.venv"
COMMAND_LINE="bench/run.sh $*"

N_LIST="1000,10000"
ROUNDS=3
QUICK=0
SERVERS="dialbook,radicale,xandikos"
S5_SECS=30
MAX_SECS=300
REPEAT_MAX_SECS=60
S4_REQUESTS=1000
RACE_TRIALS=50
WRITE_RESULTS=1
while [ $# -gt 0 ]; do
  case "$1" in
    --n) N_LIST="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --servers) SERVERS="$2"; shift 2 ;;
    --s5-secs) S5_SECS="$2"; shift 2 ;;
    --max-secs) MAX_SECS="$2"; shift 2 ;;
    --no-results) WRITE_RESULTS=0; shift ;;
    --quick) QUICK=1; shift ;;
    -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
if [ "$QUICK" = 1 ]; then
  N_LIST=200; ROUNDS=1; S5_SECS=5; S4_REQUESTS=200; RACE_TRIALS=20; MAX_SECS=60; REPEAT_MAX_SECS=20
fi
RADICALE_VERSION="${RADICALE_VERSION:-3.9.0}"
XANDIKOS_VERSION="${XANDIKOS_VERSION:-0.4.10}"

log() { printf '[bench] %s\n' "$*" >&2; }

# --- build and install -------------------------------------------------------------
log "cargo build --release --locked -p dialbook -p dialbook-bench"
(cd "$REPO" && cargo build --release --locked -p dialbook -p dialbook-bench) >&2
DIALBOOK_BIN="$REPO/target/release/dialbook"
BENCH_BIN="$REPO/target/release/dialbook-bench"

installed() { # NAME VERSION: whether the venv holds exactly that version
  local out
  out="$("$VENV/bin/pip" show "$1" 2>/dev/null || true)"
  [[ "$out" == *$'\nVersion: '"$2"$'\n'* ]]
}
if [ ! -x "$VENV/bin/radicale" ] || [ ! -x "$VENV/bin/xandikos" ] \
  || ! installed radicale "$RADICALE_VERSION" || ! installed xandikos "$XANDIKOS_VERSION"; then
  log "installing radicale==$RADICALE_VERSION xandikos==$XANDIKOS_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check \
    "radicale==$RADICALE_VERSION" "xandikos==$XANDIKOS_VERSION" >&2
fi

RUN_ID="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="$HERE/out/$RUN_ID"
mkdir -p "$OUT"
RESULTS="$OUT/results.jsonl"
: >"$RESULTS"

# --- one server at a time ----------------------------------------------------------
SERVER_PID=""
WORK=""
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    local i
    for i in $(seq 1 50); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      log "server $SERVER_PID still running; SIGKILL"
      kill -9 "$SERVER_PID" 2>/dev/null || true
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
  if [ -n "$WORK" ] && [ -d "$WORK" ]; then
    if [ "${KEEP_WORK:-0}" = 1 ]; then log "kept $WORK"; else rm -rf -- "$WORK"; fi
    WORK=""
  fi
}
trap stop_server EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Waits until the server answers anything at URL (or dies / 20 s pass).
wait_http() {
  local url="$1" i code
  for i in $(seq 1 100); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      log "server exited early; log follows"; cat "$WORK/server.log" >&2; return 1
    fi
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)"
    case "$code" in 000 | "") sleep 0.2 ;; *) return 0 ;; esac
  done
  log "no answer from $url"; return 1
}

# Sets SERVER_PID, BOOK, BENCH_USER, BENCH_PASSWORD, DATA.
start_server() {
  local server="$1" port
  port="$(free_port)"
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/dialbook-bench.XXXXXX")"
  DATA="$WORK/data"
  mkdir -p "$DATA"
  BENCH_USER=""
  BENCH_PASSWORD=""
  case "$server" in
    dialbook)
      BENCH_USER="+442079460001"
      BENCH_PASSWORD="bench-$RANDOM$RANDOM"
      local clean=(env -u DATABASE_URL -u DIALBOOK_CONFIG -u DIALBOOK_DATA_DIR -u DIALBOOK_REGION
        -u DIALBOOK_LISTEN -u DIALBOOK_PUBLIC_URL -u DIALBOOK_FIRST_NUMBER -u DIALBOOK_CONFLICT_POLICY
        DIALBOOK_LOG=warn)
      printf '%s\n' "$BENCH_PASSWORD" \
        | "${clean[@]}" "$DIALBOOK_BIN" account add "$BENCH_USER" --password-stdin --data-dir "$DATA" >/dev/null
      "${clean[@]}" "$DIALBOOK_BIN" serve --listen "127.0.0.1:$port" --data-dir "$DATA" \
        >"$WORK/server.log" 2>&1 &
      SERVER_PID=$!
      BOOK="http://127.0.0.1:$port/dav/addressbooks/$BENCH_USER/contacts/"
      wait_http "http://127.0.0.1:$port/health"
      ;;
    radicale)
      # auth type none: any user name is accepted, the collection is /bench/contacts/.
      BENCH_USER="bench"
      BENCH_PASSWORD="x"
      cat >"$WORK/radicale.conf" <<EOF
[server]
hosts = 127.0.0.1:$port
[auth]
type = none
[storage]
filesystem_folder = $DATA/collections
[logging]
level = warning
EOF
      "$VENV/bin/radicale" --config "$WORK/radicale.conf" >"$WORK/server.log" 2>&1 &
      SERVER_PID=$!
      BOOK="http://127.0.0.1:$port/bench/contacts/"
      wait_http "http://127.0.0.1:$port/"
      ;;
    xandikos)
      # No authentication; --defaults creates /user/contacts/addressbook/.
      "$VENV/bin/xandikos" --defaults -d "$DATA" -l 127.0.0.1 -p "$port" \
        >"$WORK/server.log" 2>&1 &
      SERVER_PID=$!
      BOOK="http://127.0.0.1:$port/user/contacts/addressbook/"
      wait_http "http://127.0.0.1:$port/"
      ;;
    *) log "unknown server $server"; return 1 ;;
  esac
}

# S6: the server's peak RSS (VmHWM) and its data directory per contact, as a JSON line
# (scenario S6load right after S1 has put N cards; S6 after all scenarios).
s6_line() {
  local server="$1" n="$2" round="$3" scenario="$4" hwm disk wal
  hwm="$(awk '/^VmHWM:/ {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || echo null)"
  disk="$(du -sb "$DATA" | cut -f1)"
  # SQLite's write-ahead log is part of the footprint until the next checkpoint.
  wal="$(find "$DATA" -name '*-wal' -printf '%s\n' | awk '{s += $1} END {print s + 0}')"
  printf '{"server":"%s","n":%s,"round":%s,"scenario":"%s","peak_rss_kb":%s,"disk_bytes":%s,"wal_bytes":%s,"disk_bytes_per_contact":%s}\n' \
    "$server" "$n" "$round" "$scenario" "${hwm:-null}" "$disk" "$wal" "$(awk -v d="$disk" -v n="$n" 'BEGIN {printf "%.1f", d / n}')"
}

run_one() {
  local server="$1" n="$2" round="$3"
  log "round $round, N=$n: $server"
  start_server "$server"
  local args=(--server "$server" --book "$BOOK" --n "$n" --round "$round" --server-pid "$SERVER_PID"
    --max-secs "$MAX_SECS" --repeat-max-secs "$REPEAT_MAX_SECS" --s4-requests "$S4_REQUESTS" --s5-secs "$S5_SECS" --race-trials "$RACE_TRIALS")
  [ -n "$BENCH_USER" ] && args+=(--user "$BENCH_USER")
  [ "$server" = xandikos ] && args+=(--xandikos-repo "$DATA/user/contacts/addressbook")
  # Every phase is capped by --max-secs inside the client; this is the outer bound.
  BENCH_PASSWORD="$BENCH_PASSWORD" timeout $((MAX_SECS * 6 + 120)) \
    "$BENCH_BIN" "${args[@]}" --scenarios setup,s1 | tee -a "$RESULTS" >&2 || log "client failed ($server, N=$n)"
  # The book at rest with exactly N cards: the like-for-like footprint. Every server gets
  # the same two idle seconds before each measurement (dialbook folds its write-ahead log
  # back into the database after one idle second).
  sleep 2
  s6_line "$server" "$n" "$round" S6load | tee -a "$RESULTS" >&2
  BENCH_PASSWORD="$BENCH_PASSWORD" timeout $((MAX_SECS * 6 + 120)) \
    "$BENCH_BIN" "${args[@]}" --scenarios s2,s3,s4,s5,race | tee -a "$RESULTS" >&2 || log "client failed ($server, N=$n)"
  sleep 2
  s6_line "$server" "$n" "$round" S6 | tee -a "$RESULTS" >&2
  BENCH_PASSWORD="$BENCH_PASSWORD" timeout $((MAX_SECS * 2 + 60)) \
    "$BENCH_BIN" "${args[@]}" --scenarios uplink | tee -a "$RESULTS" >&2 || log "uplink failed ($server, N=$n)"
  stop_server
}

IFS=, read -r -a NS <<<"$N_LIST"
IFS=, read -r -a SV <<<"$SERVERS"
START=$(date +%s)
for round in $(seq 1 "$ROUNDS"); do
  for n in "${NS[@]}"; do
    # Rotate the order each round so no server always runs first (or right after another).
    k=$(((round - 1) % ${#SV[@]}))
    for j in $(seq 0 $((${#SV[@]} - 1))); do
      run_one "${SV[$(((j + k) % ${#SV[@]}))]}" "$n" "$round"
    done
  done
done
log "all rounds done in $(($(date +%s) - START)) s; results in $RESULTS"

# --- the table ---------------------------------------------------------------------
ENV_JSON="$OUT/env.json"
python3 - "$ENV_JSON" <<PY
import json, platform, subprocess, sys, os
def sh(c):
    try:
        return subprocess.run(c, shell=True, capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception:
        return ""
cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
env = {
    "command": """$COMMAND_LINE""",
    "date": sh("date -u +%Y-%m-%dT%H:%M:%SZ"),
    "machine": f"{platform.machine()}, {cpu}, {os.cpu_count()} CPUs, "
               + sh("awk '/MemTotal/ {printf \"%.0f GiB\", \$2/1048576}' /proc/meminfo"),
    "kernel": platform.release(),
    "dialbook": sh("cd '$REPO' && git rev-parse --short HEAD") + (" (dirty)" if sh("cd '$REPO' && git status --porcelain -- src migrations Cargo.toml") else ""),
    "rustc": sh("rustc --version"),
    "python": platform.python_version(),
    "radicale": sh("'$VENV/bin/pip' show radicale | sed -n 's/^Version: //p'"),
    "xandikos": sh("'$VENV/bin/pip' show xandikos | sed -n 's/^Version: //p'"),
    "n": "$N_LIST", "rounds": $ROUNDS, "s5_secs": $S5_SECS, "quick": $QUICK == 1,
    "seconds": $(($(date +%s) - START)),
}
json.dump(env, open(sys.argv[1], "w"), indent=1)
PY
if [ "$WRITE_RESULTS" = 1 ]; then
  python3 "$HERE/report.py" "$RESULTS" "$ENV_JSON" --write "$HERE/RESULTS.md"
else
  python3 "$HERE/report.py" "$RESULTS" "$ENV_JSON"
fi
