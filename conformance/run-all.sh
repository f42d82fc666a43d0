#!/usr/bin/env bash
# Run every client suite present, each against a fresh dialbook (conformance/common.sh:
# new data directory, two new accounts), and compare each suite's checks with
# conformance/expected/<suite>.txt.
#
#   conformance/run-all.sh [SUITE...]      default: every suite listed in SUITES below
#
# A suite is conformance/<suite>.sh, called as `<suite>.sh BASE_URL USER PASSWORD` with
# OTHER_USER/OTHER_PASSWORD (a second account) in the environment. It prints
# "PASS name: ..." / "FAIL name: ..." lines. expected/<suite>.txt lists the check names
# that must pass, one per line; a line "name # reason" is an accepted failure. Any check
# that fails without being accepted, or passes while accepted as failing, or is missing,
# is a regression: the run exits 1.
# See common.sh for DIALBOOK_BIN, DIALBOOK_SKIP_BUILD, DATABASE_URL and KEEP_WORK;
# SUITE_TIMEOUT (seconds, default 480) bounds each suite.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Known suites, in run order; a suite whose script is absent is skipped.
SUITES=(vdirsyncer litmus khard python-caldav caldav-server-tester)
SUITE_TIMEOUT="${SUITE_TIMEOUT:-480}"

if [ $# -gt 0 ]; then SUITES=("$@"); fi

# shellcheck source=common.sh source-path=SCRIPTDIR
. "$HERE/common.sh"

build_server
started=$SECONDS

OUT="$(mktemp -d "${TMPDIR:-/tmp}/dialbook-run-all.XXXXXX")"
regressions=0
summary=()

# Server arguments per suite. vdirsyncer's checks include "a PUT with a replaced ETag is
# refused (412)", the RFC behaviour: it runs under the `reject` conflict policy; the
# default `merge` policy is covered by tests/merge.rs.
suite_server_args() {
  case "$1" in
    vdirsyncer) echo "--conflict-policy reject" ;;
    *) echo "" ;;
  esac
}

for suite in "${SUITES[@]}"; do
  script="$HERE/$suite.sh"
  expected="$HERE/expected/$suite.txt"
  if [ ! -x "$script" ]; then
    continue
  fi
  log "suite $suite"
  t0=$SECONDS
  # Each suite runs under the server settings its checks were written for.
  read -r -a server_args <<<"$(suite_server_args "$suite")"
  start_server "${server_args[@]}"
  rc=0
  OTHER_USER="$DIALBOOK_USER2" OTHER_PASSWORD="$DIALBOOK_PASSWORD2" \
    timeout "$SUITE_TIMEOUT" "$script" "$DIALBOOK_URL" "$DIALBOOK_USER1" "$DIALBOOK_PASSWORD1" \
    | tee "$OUT/$suite.out" || rc=$?
  stop_server
  secs=$((SECONDS - t0))

  if [ ! -f "$expected" ]; then
    summary+=("FAIL $suite: no expected/$suite.txt (exit $rc, ${secs}s)")
    regressions=$((regressions + 1))
    continue
  fi
  # Reduce both to "name<TAB>pass|fail" and compare.
  sed -n 's/^\(PASS\|FAIL\) \([^:]*\):.*/\2\t\1/p' "$OUT/$suite.out" | sort -u >"$OUT/$suite.got"
  sed -e 's/[[:space:]]*$//' -e '/^$/d' -e '/^#/d' "$expected" \
    | awk '{ name = $1; state = (index($0, "#") ? "FAIL" : "PASS"); printf "%s\t%s\n", name, state }' \
    | sort -u >"$OUT/$suite.want"
  problems="$(join -t "$(printf '\t')" -a1 -a2 -e MISSING -o 0,1.2,2.2 "$OUT/$suite.want" "$OUT/$suite.got" \
    | awk -F'\t' '$2 != $3 {
        if ($3 == "MISSING") printf "  %s: expected %s, did not run\n", $1, $2;
        else if ($2 == "MISSING") printf "  %s: new check (%s), not in expected file\n", $1, $3;
        else if ($3 == "PASS") printf "  %s: passes but is listed as an accepted failure\n", $1;
        else printf "  %s: FAILS (regression)\n", $1 }')"
  npass="$(grep -c $'\tPASS$' "$OUT/$suite.got" || true)"
  nfail="$(grep -c $'\tFAIL$' "$OUT/$suite.got" || true)"
  if [ -z "$problems" ] && { [ "$rc" = 0 ] || [ "$nfail" -gt 0 ]; }; then
    summary+=("PASS $suite: $npass passed, $nfail accepted failures, as expected (${secs}s)")
  else
    summary+=("FAIL $suite: $npass passed, $nfail failed, exit $rc (${secs}s)")
    [ -n "$problems" ] && summary+=("$problems")
    regressions=$((regressions + 1))
  fi
done

rm -rf -- "$OUT"
printf '\n==== conformance summary ====\n'
printf '%s\n' "${summary[@]}"
printf 'total %ss (build excluded: the server was built before the clock started)\n' "$((SECONDS - started))"
[ "$regressions" -eq 0 ]
