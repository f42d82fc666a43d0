#!/usr/bin/env bash
# The python `caldav` library (PyPI) against a running dialbook, used as a client would
# use it from the bare base URL: principal discovery, the address-book home through the
# library's property API, DAV:sync-token and CS:getctag before and after a PUT, a
# sync-collection REPORT through its low-level `report` call (empty token, returned
# token, unknown token), then the library's calendar API, which fails until dialbook has
# CalDAV (accepted in expected/python-caldav.txt). The checks are lib/python_caldav_checks.py.
#
#   conformance/python-caldav.sh BASE_URL USER PASSWORD
#   e.g. conformance/python-caldav.sh http://127.0.0.1:5232/ +442079460001 s3cret
#
# Prints one "PASS name: detail" or "FAIL name: detail" line per check and a final
# "N passed, M failed" line; exits 1 when a check failed, 2 when the run itself could
# not be set up.
#
# Environment:
#   OTHER_USER, OTHER_PASSWORD  a second account: adds the isolation check
#   CALDAV_VERSION              pip version of caldav for the venv (default 3.6.0)
#   CST_VERSION                 caldav-server-tester installed alongside (default 1.7.0)
set -euo pipefail

if [ $# -ne 3 ]; then
  sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi

BASE="${1%/}/"
DAV_USER="$2"
DAV_PASSWORD="$3"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
CALDAV_VERSION="${CALDAV_VERSION:-3.6.0}"
CST_VERSION="${CST_VERSION:-1.7.0}"

# shellcheck source-path=SCRIPTDIR source=lib/suite.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/suite.sh"
suite_require_local "$BASE"


# --- caldav in conformance/.venv (shared with vdirsyncer and caldav-server-tester) -------
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV" || setup_error "python3 -m venv failed"
fi
if ! "$VENV/bin/python" -c 'import caldav' 2>/dev/null; then
  echo "installing caldav $CALDAV_VERSION (and caldav-server-tester $CST_VERSION) into $VENV" >&2
  # Both at once: caldav-server-tester pins its own caldav range, one resolution keeps
  # the two compatible.
  timeout 300 "$VENV/bin/pip" install --quiet --disable-pip-version-check --timeout 60 \
    "caldav==$CALDAV_VERSION" "caldav-server-tester==$CST_VERSION" >&2 \
    || setup_error "pip install caldav failed"
fi

args=("$BASE" "$DAV_USER" "$DAV_PASSWORD")
if [ -n "${OTHER_USER:-}" ] && [ -n "${OTHER_PASSWORD:-}" ]; then
  args+=("$OTHER_USER" "$OTHER_PASSWORD")
fi
OUT="$(mktemp "${TMPDIR:-/tmp}/dialbook-python-caldav.XXXXXX")"
trap 'rm -f -- "$OUT"' EXIT
rc=0
# The password travels as an argument of a local process only (throwaway accounts,
# local URLs), like litmus.sh.
timeout 300 "$VENV/bin/python" "$HERE/lib/python_caldav_checks.py" "${args[@]}" >"$OUT" || rc=$?
while IFS= read -r line; do
  printf '%s\n' "$line"
  case "$line" in
    PASS\ *) PASSED=$((PASSED + 1)) ;;
    FAIL\ *) FAILED=$((FAILED + 1)) ;;
  esac
done <"$OUT"
if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
  printf 'FAIL aborted: the check script exited %s%s\n' "$rc" "$([ "$rc" = 124 ] && echo ' (timeout)')"
  FAILED=$((FAILED + 1))
fi
printf '%d passed, %d failed\n' "$PASSED" "$FAILED"
[ "$FAILED" -eq 0 ]
