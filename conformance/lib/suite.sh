# shellcheck shell=bash
# Sourced by every suite script (conformance/<suite>.sh): the shared preamble.
#
#   suite_require_local URL   refuse anything but a loopback base URL (exit 2)
#   suite_workdir NAME        make $WORK (removed on exit unless KEEP_WORK=1)
#   pass NAME DETAIL / fail NAME DETAIL / verdict NAME ok|… DETAIL
#   tally FILE                echo a helper's PASS/FAIL lines and count them
#   finish                    print "N passed, M failed"; false if anything failed
#   setup_error MSG           the suite could not be set up (exit 2)
#   suite_trap_errors         an unexpected command failure becomes a failed check
# Every suite prints `PASS name: detail` / `FAIL name: detail` lines; run-all.sh compares
# them with expected/<suite>.txt.

PASSED=0
FAILED=0

suite_require_local() {
  case "$1" in
    http://127.0.0.1:* | http://localhost:* | http://\[::1\]:*) ;;
    *) echo "refusing a non-local base URL: $1" >&2; exit 2 ;;
  esac
}

suite_workdir() {
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/dialbook-$1.XXXXXX")"
  trap suite_cleanup EXIT
}

suite_cleanup() {
  if [ "${KEEP_WORK:-0}" = 1 ]; then
    echo "work directory kept: $WORK" >&2
  else
    rm -rf -- "$WORK"
  fi
}

pass() { printf 'PASS %s: %s\n' "$1" "$2"; PASSED=$((PASSED + 1)); }
fail() { printf 'FAIL %s: %s\n' "$1" "$2"; FAILED=$((FAILED + 1)); }
verdict() { if [ "$2" = ok ]; then pass "$1" "$3"; else fail "$1" "$3"; fi; }

tally() {
  local line
  while IFS= read -r line; do
    printf '%s\n' "$line"
    case "$line" in
      PASS\ *) PASSED=$((PASSED + 1)) ;;
      FAIL\ *) FAILED=$((FAILED + 1)) ;;
    esac
  done <"$1"
}

finish() {
  printf '%d passed, %d failed\n' "$PASSED" "$FAILED"
  [ "$FAILED" -eq 0 ]
}

setup_error() { echo "setup: $*" >&2; exit 2; }

suite_trap_errors() {
  # shellcheck disable=SC2154  # rc is assigned inside the trap itself
  trap 'rc=$?; fail aborted "command failed (exit $rc) at line $LINENO"; finish; exit 1' ERR
}
