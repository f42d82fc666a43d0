#!/usr/bin/env bash
# litmus (the WebDAV server test suite, Debian package `litmus`) against the account's
# files collection: suites basic, copymove, props and http (not locks: dialbook has no
# LOCK and does not advertise DAV class 2).
#
#   conformance/litmus.sh BASE_URL USER PASSWORD
#   e.g. conformance/litmus.sh http://127.0.0.1:5232/ +442079460001 s3cret
#
# litmus works in BASE_URL/dav/files/USER/litmus/ (it creates and removes that
# collection itself). Prints one "PASS suite.NN.test: detail" or "FAIL suite.NN.test:
# detail" line per litmus test (NN is litmus's own test number: props runs `propget`
# several times), a "WARN suite.NN.test: text" line per litmus warning (warnings are not
# failures), and a final "N passed, M failed" line. Exits 1 when a test failed, 2 when
# litmus could not be installed or run.
#
# Environment:
#   LITMUS_TESTS   the litmus suites (default "basic copymove props http")
#   KEEP_WORK=1    keep the work directory (litmus output, debug.log, child.log)
set -euo pipefail

if [ $# -ne 3 ]; then
  sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi

BASE="${1%/}/"
DAV_USER="$2"
DAV_PASSWORD="$3"
TESTS="${LITMUS_TESTS:-basic copymove props http}"

# shellcheck source-path=SCRIPTDIR source=lib/suite.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/suite.sh"
suite_require_local "$BASE"

if ! command -v litmus >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing litmus (apt-get)" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq litmus; } >&2 \
      || { echo "setup: apt-get install litmus failed" >&2; exit 2; }
  else
    echo "setup: litmus is not installed (apt-get install litmus)" >&2
    exit 2
  fi
fi

suite_workdir litmus

# The user name goes into the URL as typed; `+` is literal in a path segment.
URL="${BASE}dav/files/${DAV_USER}/"
echo "litmus against $URL (suites: $TESTS)" >&2
rc=0
# litmus takes the credentials only as arguments; they are throwaway test accounts on
# 127.0.0.1. It writes debug.log/child.log into its working directory.
(cd "$WORK" && TESTS="$TESTS" timeout 300 litmus -k "$URL" "$DAV_USER" "$DAV_PASSWORD") \
  >"$WORK/litmus.out" 2>&1 || rc=$?

# litmus prints "NN. name....... result" with progress echoes and warnings interleaved
# on the same and following lines; walk it token by token: a "NN. name..." starts a
# test, the first result word after it (pass / FAIL / SKIPPED) ends it.
python3 - "$WORK/litmus.out" "$rc" <<'PY'
import re
import sys

text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
rc = int(sys.argv[2])
suite = None
current = None  # (suite, number, name)
done = set()
passed = failed = 0
token = re.compile(
    r"-> running `(?P<suite>[^']+)'"
    r"|(?P<num>\d+)\. (?P<name>\w+)\.+"
    r"|WARNING: (?P<warn>[^\n]*)"
    r"|(?P<res>pass|FAIL|SKIPPED)(?P<detail>[^\n]*)"
)
for m in token.finditer(text):
    if m.group("suite"):
        suite, current = m.group("suite"), None
    elif m.group("num"):
        key = (suite, int(m.group("num")), m.group("name"))
        if key not in done:
            current = key
    elif current is None:
        continue
    elif m.group("warn"):
        s, n, name = current
        print(f"WARN {s}.{n:02d}.{name}: {m.group('warn').strip()}")
    elif m.group("res"):
        s, n, name = current
        detail = m.group("detail").strip() or m.group("res")
        if m.group("res") == "pass":
            print(f"PASS {s}.{n:02d}.{name}: {detail if detail != 'pass' else 'pass'}")
            passed += 1
        else:
            print(f"FAIL {s}.{n:02d}.{name}: {m.group('res')} {detail}".rstrip())
            failed += 1
        done.add(current)
        current = None
if passed + failed == 0:
    print(f"FAIL litmus-ran: litmus produced no results (exit {rc})")
    failed += 1
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
