#!/usr/bin/env bash
# caldav-server-tester (PyPI; the python `caldav` project's server probe) against a
# running dialbook. Every check class it lists (--list-checks) runs on its own
# (`--run-checks NAME --format hints`, bounded by a timeout), so a check that stops for
# want of a calendar does not hide the others; lib/cst_report.py turns the reports into
# one line per check (`check.NAME`: ran to the end) and one per feature it observed
# (`feature.F`: support "full").
#
#   conformance/caldav-server-tester.sh BASE_URL USER PASSWORD
#   e.g. conformance/caldav-server-tester.sh http://127.0.0.1:5232/ +442079460001 s3cret
#
# Prints "PASS name: detail" / "FAIL name: detail" lines and a final "N passed, M failed"
# line; exits 1 when a check failed (today: everything that needs a calendar), 2 when the
# run itself could not be set up. If the package cannot be installed from PyPI, the only
# line is "FAIL install: ...".
#
# Environment:
#   CST_VERSION     pip version of caldav-server-tester (default 1.7.0, the one tested)
#   CALDAV_VERSION  caldav installed with it (default 3.6.0)
#   CST_CHECKS      space-separated check classes to run instead of all of them
#   CST_TIMEOUT     seconds per check (default 120)
#   KEEP_WORK=1     keep the raw reports and logs
set -euo pipefail

if [ $# -ne 3 ]; then
  sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi

BASE="${1%/}/"
DAV_USER="$2"
DAV_PASSWORD="$3"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
CST_VERSION="${CST_VERSION:-1.7.0}"
CALDAV_VERSION="${CALDAV_VERSION:-3.6.0}"
CST_TIMEOUT="${CST_TIMEOUT:-120}"
TESTER="$VENV/bin/caldav-server-tester"

# shellcheck source-path=SCRIPTDIR source=lib/suite.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/suite.sh"
suite_require_local "$BASE"

suite_workdir cst

suite_trap_errors

# --- caldav-server-tester in conformance/.venv (shared with vdirsyncer and caldav) -------
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV" || { echo "setup: python3 -m venv failed" >&2; exit 2; }
fi
if [ ! -x "$TESTER" ]; then
  echo "installing caldav-server-tester $CST_VERSION (caldav $CALDAV_VERSION) into $VENV" >&2
  if ! timeout 300 "$VENV/bin/pip" install --quiet --disable-pip-version-check --timeout 60 \
    "caldav==$CALDAV_VERSION" "caldav-server-tester==$CST_VERSION" >"$WORK/pip.log" 2>&1; then
    printf 'FAIL install: pip install caldav-server-tester==%s failed: %s\n' "$CST_VERSION" \
      "$(tail -n 2 "$WORK/pip.log" | tr '\n' ' ' | cut -c1-300)"
    FAILED=1
    finish || exit 1
  fi
fi
version="$("$TESTER" --version 2>&1 | tail -n 1)"
echo "using $version, caldav $("$VENV/bin/python" -c 'import caldav; print(caldav.__version__)')" >&2
printf 'PASS install: %s\n' "$version"
PASSED=1

# --- one process per check ---------------------------------------------------------------
if [ -n "${CST_CHECKS:-}" ]; then
  read -r -a checks <<<"$CST_CHECKS"
else
  mapfile -t checks < <(timeout 60 "$TESTER" --list-checks | grep -E '^Check[A-Za-z0-9]+$')
fi
[ "${#checks[@]}" -gt 0 ] || { echo "setup: caldav-server-tester listed no checks" >&2; exit 2; }
mkdir -p "$WORK/reports"
for c in "${checks[@]}"; do
  rc=0
  # The password is an argument of a local process only (throwaway accounts, local URLs).
  timeout "$CST_TIMEOUT" "$TESTER" --caldav-url "$BASE" --caldav-username "$DAV_USER" \
    --caldav-password "$DAV_PASSWORD" --format hints --run-checks "$c" \
    </dev/null >"$WORK/reports/$c.out" 2>"$WORK/reports/$c.err" || rc=$?
  echo "$rc" >"$WORK/reports/$c.rc"
done

python3 "$HERE/lib/cst_report.py" "$WORK/reports" >"$WORK/lines"
while IFS= read -r line; do
  printf '%s\n' "$line"
  case "$line" in
    PASS\ *) PASSED=$((PASSED + 1)) ;;
    FAIL\ *) FAILED=$((FAILED + 1)) ;;
  esac
done <"$WORK/lines"
finish
