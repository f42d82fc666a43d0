#!/usr/bin/env bash
# vdirsyncer (from PyPI) against a running dialbook: discovery from the bare host URL and
# a two-way round trip of 1,000 cards built from the real-client fixtures in
# tests/data/vcard/, with creates, edits and deletes on both sides and three conflicts.
#
#   conformance/vdirsyncer.sh BASE_URL USER PASSWORD
#   e.g. conformance/vdirsyncer.sh http://127.0.0.1:5232/ +442079460001 s3cret
#
# The account's address book should start empty. Prints one "PASS name: detail" or
# "FAIL name: detail" line per check and a final "N passed, M failed" line; exits 1 when
# a check failed, 2 when the run itself could not be set up.
#
# Environment:
#   OTHER_USER, OTHER_PASSWORD  a second account: adds the isolation check
#   VDS_COUNT                   number of cards (default 1000)
#   VDIRSYNCER_VERSION          pip requirement (default 0.21.0, the version tested)
#   KEEP_WORK=1                 keep the work directory (configs, logs, snapshots)
set -euo pipefail

if [ $# -ne 3 ]; then
  sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi

BASE="${1%/}/"
DAV_USER="$2"
DAV_PASSWORD="$3"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
VENV="$HERE/.venv"
CARDS="$HERE/lib/vcards.py"
COUNT="${VDS_COUNT:-1000}"
STEP=50 # cards per kind of change
VDIRSYNCER_VERSION="${VDIRSYNCER_VERSION:-0.21.0}"

# shellcheck source-path=SCRIPTDIR source=lib/suite.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/suite.sh"
suite_require_local "$BASE"

suite_workdir vdirsyncer

# An unexpected command failure ends the run with a check of its own (so run-all sees it).
suite_trap_errors

# --- vdirsyncer in conformance/.venv ---------------------------------------------------
if [ ! -x "$VENV/bin/vdirsyncer" ]; then
  echo "installing vdirsyncer $VDIRSYNCER_VERSION into $VENV" >&2
  python3 -m venv "$VENV" || setup_error "python3 -m venv failed"
  timeout 300 "$VENV/bin/pip" install --quiet --disable-pip-version-check --timeout 60 \
    "vdirsyncer==$VDIRSYNCER_VERSION" >&2 || setup_error "pip install vdirsyncer failed"
fi
echo "using $("$VENV/bin/vdirsyncer" --version)" >&2

# --- curl with credentials from a netrc file (not on the command line) -----------------
HOSTPORT="${BASE#http://}"
HOSTPORT="${HOSTPORT%%/*}"
HOST="${HOSTPORT%:*}"
HOST="${HOST#[}"
HOST="${HOST%]}"
write_netrc() { # file user password
  (umask 077 && printf 'machine %s\nlogin %s\npassword %s\n' "$HOST" "$2" "$3" >"$1")
}
write_netrc "$WORK/netrc" "$DAV_USER" "$DAV_PASSWORD"
dav() { curl -sS --max-time 60 --netrc-file "$WORK/netrc" "$@"; }

PROPFIND_MEMBERS='<?xml version="1.0" encoding="utf-8"?>
<propfind xmlns="DAV:"><prop><resourcetype/><getcontenttype/><getetag/></prop></propfind>'

# snapshot NAME: every card on the server into $WORK/snap/NAME/, one GET each (byte
# exact, unlike a multiget whose XML parser would normalise line endings), all in one
# curl process. Prints the number of members listed.
snapshot() {
  local dir="$WORK/snap/$1"
  rm -rf -- "$dir"
  mkdir -p "$dir"
  dav -X PROPFIND -H 'Depth: 1' -H 'Content-Type: application/xml; charset=utf-8' \
    --data-binary "$PROPFIND_MEMBERS" -o "$dir/propfind.xml" "$COLL_URL"
  python3 "$CARDS" curlcfg "$dir/propfind.xml" "$BASE" "$dir" "$WORK/snap/$1.curl"
  if [ -s "$WORK/snap/$1.curl" ]; then
    curl -sS --fail --max-time 300 --netrc-file "$WORK/netrc" -K "$WORK/snap/$1.curl"
  fi
  python3 "$CARDS" uidmap "$dir" >"$dir/uids.tsv"
  wc -l <"$dir/uids.tsv" | tr -d ' '
}
# Column of the uidmap line for UID in snapshot NAME (2 href, 3 etag, 4 file).
snap_field() { awk -F'\t' -v u="$2" -v c="$3" '$1 == u { print $c; exit }' "$WORK/snap/$1/uids.tsv"; }

# --- vdirsyncer configuration ------------------------------------------------------------
LOCAL="$WORK/local"
LOCAL_BOOK="$LOCAL/contacts" # the server's default book is .../contacts/
EXPECTED="$WORK/expected"    # what every card should be, maintained by this script
mkdir -p "$LOCAL_BOOK" "$EXPECTED" "$WORK/status" "$WORK/logs" "$WORK/tmp"

DAV_PASSWORD="$DAV_PASSWORD" python3 "$CARDS" vdirsyncer-config "$WORK/config" --status "$WORK/status/" \
  --local "$LOCAL/" --url "$BASE" --user "$DAV_USER" --collections "from a" "from b"

# vds LOGNAME ARGS...: run vdirsyncer with a time limit and no terminal for prompts.
vds() {
  local name="$1"
  shift
  timeout 300 "$VENV/bin/vdirsyncer" -c "$WORK/config" "$@" </dev/null >"$WORK/logs/$name.log" 2>&1
}
# Lines of a vdirsyncer log that report a change to an item ("Copying (uploading) item",
# "Copying (updating) item", "Deleting item"; not its "Deleting an item with no etag."
# warning, which 0.21.0 prints when there IS an etag).
changes_in() { grep -Ec '^(Copying \((uploading|updating)\) item|Deleting item) ' "$WORK/logs/$1.log" || true; }
log_tail() { tail -n 3 "$WORK/logs/$1.log" | tr '\n' ' ' | cut -c1-300; }

# --- (a) 1,000 cards locally, discovery from the bare URL, first sync -------------------
n="$(python3 "$CARDS" generate --fixtures "$REPO/tests/data/vcard" --out "$LOCAL_BOOK" \
  --expected "$EXPECTED" --count "$COUNT" --manifest "$WORK/manifest.tsv")"
verdict generate "$([ "$n" = "$COUNT" ] && echo ok)" \
  "$n cards from $(cut -f2 "$WORK/manifest.tsv" | sort -u | wc -l) fixtures, fresh UIDs, varied names"

code="$(curl -sS -o /dev/null --max-time 10 -w '%{http_code} %{redirect_url}' -X PROPFIND \
  -H 'Depth: 0' "${BASE}.well-known/carddav" || true)"
verdict discover-well-known "$(case "$code" in 30[178]\ */dav/) echo ok ;; esac)" \
  "PROPFIND /.well-known/carddav without credentials: $code"

COLL_URL=""
if vds discover discover; then
  COLL_URL="$(python3 - "$WORK/status" "$BASE" <<'PY'
import json, os, sys, urllib.parse
status, base = sys.argv[1:]
found = set()
def walk(v):
    if isinstance(v, dict):
        for x in v.values(): walk(x)
    elif isinstance(v, list):
        for x in v: walk(x)
    elif isinstance(v, str) and v.startswith(base) and v != base:
        found.add(v)
for name in os.listdir(status):
    try:
        with open(os.path.join(status, name), encoding="utf-8") as f:
            walk(json.load(f))
    except (ValueError, OSError, UnicodeDecodeError):
        pass
print("\n".join(sorted(found)))
PY
)"
fi
want_coll="${BASE}dav/addressbooks/${DAV_USER}/contacts/"
got_coll="$(python3 -c 'import sys, urllib.parse; print(urllib.parse.unquote(sys.argv[1]))' "$COLL_URL")"
verdict discover-bare-url "$([ "$got_coll" = "$want_coll" ] && echo ok)" \
  "vdirsyncer discover from url=$BASE found: ${COLL_URL:-nothing (log: $(log_tail discover))}"
if [ -z "$COLL_URL" ] || [ "$(printf '%s\n' "$COLL_URL" | wc -l)" -ne 1 ]; then
  echo "no single address book discovered; log: $(cat "$WORK/logs/discover.log")" >&2
  finish || exit 1
fi

# sync_check NAME LOG WANT: vdirsyncer exited 0 and logged exactly WANT item changes.
sync_check() {
  local rc=0 c
  vds "$2" sync || rc=$?
  c="$(changes_in "$2")"
  verdict "$1" "$([ "$rc" = 0 ] && [ "$c" = "$3" ] && echo ok)" \
    "exit $rc, $c item changes logged (want $3)${4:+, $4}$([ "$rc" = 0 ] || echo ": $(log_tail "$2")")"
}

sync_check sync-initial sync-initial "$COUNT"
n="$(snapshot initial)"
verdict server-count-initial "$([ "$n" = "$COUNT" ] && echo ok)" "$n cards on the server"
python3 "$CARDS" compare --brief --prefix initial- --exact-side server --count "$COUNT" \
  --expected "$EXPECTED" --server "$WORK/snap/initial" --local "$LOCAL_BOOK" >"$WORK/cmp-initial"
tally "$WORK/cmp-initial"

# Deterministic choices: sorted UIDs (the UIDs themselves are a hash, so every fixture
# kind appears in each slice).
uids() { find "$EXPECTED" -name '*.vcf' -printf '%f\n' | sed 's/\.vcf$//' | sort; }
slice() { uids | sed -n "$(($1 + 1)),$(($1 + $2))p"; } # slice OFFSET COUNT

# --- (b) local: edit 50, delete 50, create 50 -------------------------------------------
slice 0 "$STEP" >"$WORK/local-edit"
slice "$STEP" "$STEP" >"$WORK/local-delete"
while read -r u; do
  python3 "$CARDS" edit "$EXPECTED/$u.vcf" "local edit" "$EXPECTED/$u.vcf" "$LOCAL_BOOK/$u.vcf"
done <"$WORK/local-edit"
while read -r u; do rm -f -- "$EXPECTED/$u.vcf" "$LOCAL_BOOK/$u.vcf"; done <"$WORK/local-delete"
python3 "$CARDS" generate --fixtures "$REPO/tests/data/vcard" --out "$LOCAL_BOOK" \
  --expected "$EXPECTED" --count "$STEP" --start 100000 >/dev/null

sync_check sync-local-changes sync-local $((3 * STEP))
n="$(snapshot after-local)"
python3 "$CARDS" compare --brief --prefix after-local- --exact-side server --count "$COUNT" \
  --expected "$EXPECTED" --server "$WORK/snap/after-local" --local "$LOCAL_BOOK" >"$WORK/cmp-local"
tally "$WORK/cmp-local"

# HTTP status files: "ok" when every line matches the alternatives; a count per status.
codes_ok() { [ -s "$1" ] && ! grep -qvE "^($2)\$" "$1" && echo ok; }
codes_summary() { sort "$1" | uniq -c | awk '{ printf "%s%s x%s", (NR > 1 ? ", " : ""), $2, $1 }'; }

# --- (c) server: edit 50 (If-Match), delete 50 (If-Match), create 50 (If-None-Match) ---
slice $((2 * STEP)) "$STEP" >"$WORK/server-edit"
slice $((3 * STEP)) "$STEP" >"$WORK/server-delete"
while read -r u; do
  href="$(snap_field after-local "$u" 2)"
  etag="$(snap_field after-local "$u" 3)"
  python3 "$CARDS" edit "$(snap_field after-local "$u" 4)" "server edit" "$EXPECTED/$u.vcf"
  dav -o /dev/null -w '%{http_code}\n' -X PUT -H "If-Match: $etag" \
    -H 'Content-Type: text/vcard; charset=utf-8' --data-binary "@$EXPECTED/$u.vcf" \
    "${BASE%/}$href" >>"$WORK/codes-edit"
  printf '%s\t%s\n' "$href" "$etag" >>"$WORK/server-edit-old-etags"
done <"$WORK/server-edit"
verdict server-put-if-match "$(codes_ok "$WORK/codes-edit" '200|204')" \
  "$STEP PUTs with If-Match from PROPFIND: $(codes_summary "$WORK/codes-edit")"

# The etag a PUT replaced must no longer match.
read -r href etag <"$WORK/server-edit-old-etags"
u="$(sed -n 1p "$WORK/server-edit")"
code="$(dav -o /dev/null -w '%{http_code}' -X PUT -H "If-Match: $etag" \
  -H 'Content-Type: text/vcard; charset=utf-8' --data-binary "@$EXPECTED/$u.vcf" "${BASE%/}$href")"
verdict server-put-stale-etag "$([ "$code" = 412 ] && echo ok)" "PUT with the replaced ETag: $code (want 412)"

while read -r u; do
  href="$(snap_field after-local "$u" 2)"
  etag="$(snap_field after-local "$u" 3)"
  dav -o /dev/null -w '%{http_code}\n' -X DELETE -H "If-Match: $etag" "${BASE%/}$href" >>"$WORK/codes-delete"
  rm -f -- "$EXPECTED/$u.vcf"
done <"$WORK/server-delete"
verdict server-delete-if-match "$(codes_ok "$WORK/codes-delete" '200|204')" \
  "$STEP DELETEs with If-Match: $(codes_summary "$WORK/codes-delete")"

python3 "$CARDS" generate --fixtures "$REPO/tests/data/vcard" --out "$WORK/tmp/new" \
  --expected "$EXPECTED" --count "$STEP" --start 200000 >/dev/null
for f in "$WORK/tmp/new"/*.vcf; do
  dav -o /dev/null -w '%{http_code}\n' -X PUT -H 'If-None-Match: *' \
    -H 'Content-Type: text/vcard; charset=utf-8' --data-binary "@$f" "$COLL_URL$(basename "$f")" \
    >>"$WORK/codes-create"
done
verdict server-create "$(codes_ok "$WORK/codes-create" '201')" \
  "$STEP PUTs with If-None-Match: *: $(codes_summary "$WORK/codes-create")"

sync_check sync-server-changes sync-server $((3 * STEP))
n="$(snapshot after-server)"
python3 "$CARDS" compare --brief --prefix after-server- --exact-side server --count "$COUNT" \
  --expected "$EXPECTED" --server "$WORK/snap/after-server" --local "$LOCAL_BOOK" >"$WORK/cmp-server"
tally "$WORK/cmp-server"

# --- (d) conflicts (conflict_resolution = "b wins": the server's version wins) ----------
slice $((4 * STEP)) 3 >"$WORK/conflicts"
c_both="$(sed -n 1p "$WORK/conflicts")"
c_ldel="$(sed -n 2p "$WORK/conflicts")"
c_sdel="$(sed -n 3p "$WORK/conflicts")"
server_put() { # uid file -> http code
  dav -o /dev/null -w '%{http_code}' -X PUT -H "If-Match: $(snap_field after-server "$1" 3)" \
    -H 'Content-Type: text/vcard; charset=utf-8' --data-binary "@$2" \
    "${BASE%/}$(snap_field after-server "$1" 2)"
}
# 1. edited on both sides: the server's edit must win on both sides.
python3 "$CARDS" edit "$EXPECTED/$c_both.vcf" "conflict local" "$LOCAL_BOOK/$c_both.vcf"
python3 "$CARDS" edit "$EXPECTED/$c_both.vcf" "conflict server" "$EXPECTED/$c_both.vcf"
code1="$(server_put "$c_both" "$EXPECTED/$c_both.vcf")"
# 2. deleted locally, edited on the server: vdirsyncer restores the edited card locally.
python3 "$CARDS" edit "$EXPECTED/$c_ldel.vcf" "edit vs delete" "$EXPECTED/$c_ldel.vcf"
code2="$(server_put "$c_ldel" "$EXPECTED/$c_ldel.vcf")"
rm -f -- "$LOCAL_BOOK/$c_ldel.vcf"
# 3. edited locally, deleted on the server: vdirsyncer uploads the edited card again.
python3 "$CARDS" edit "$EXPECTED/$c_sdel.vcf" "edit vs delete" "$EXPECTED/$c_sdel.vcf" "$LOCAL_BOOK/$c_sdel.vcf"
code3="$(dav -o /dev/null -w '%{http_code}' -X DELETE "${BASE%/}$(snap_field after-server "$c_sdel" 2)")"

sync_check sync-conflicts sync-conflict 3 "server-side PUT $code1, PUT $code2, DELETE $code3"
n="$(snapshot after-conflict)"
for pair in "conflict-both-edited:$c_both" "conflict-local-delete-server-edit:$c_ldel" \
  "conflict-local-edit-server-delete:$c_sdel"; do
  name="${pair%%:*}"
  u="${pair#*:}"
  f="$(snap_field after-conflict "$u" 4)"
  if [ -z "$f" ]; then
    fail "$name" "card $u missing on the server"
  elif detail="$(python3 "$CARDS" same "$EXPECTED/$u.vcf" "$f" --local-dir "$LOCAL_BOOK")"; then
    pass "$name" "$u: server and local hold the winning version once"
  else
    fail "$name" "$u: $detail"
  fi
done

# --- (e) a sync with nothing to do, then the full comparison ---------------------------
sync_check sync-idempotent sync-noop 0 "a sync with nothing to do"

n="$(snapshot final)"
verdict server-count-final "$([ "$n" = "$COUNT" ] && echo ok)" "$n cards on the server"
python3 "$CARDS" compare --prefix final- --count "$COUNT" \
  --expected "$EXPECTED" --server "$WORK/snap/final" --local "$LOCAL_BOOK" >"$WORK/cmp-final"
tally "$WORK/cmp-final"

# --- a second account sees none of it ---------------------------------------------------
if [ -n "${OTHER_USER:-}" ] && [ -n "${OTHER_PASSWORD:-}" ]; then
  write_netrc "$WORK/netrc2" "$OTHER_USER" "$OTHER_PASSWORD"
  other_book="${BASE}dav/addressbooks/${OTHER_USER}/contacts/"
  curl -sS --max-time 60 --netrc-file "$WORK/netrc2" -X PROPFIND -H 'Depth: 1' \
    -H 'Content-Type: application/xml; charset=utf-8' --data-binary "$PROPFIND_MEMBERS" \
    -o "$WORK/other.xml" "$other_book"
  other_n="$(python3 "$CARDS" hrefs "$WORK/other.xml" | wc -l)"
  href="$(awk -F'\t' 'NR == 1 { print $2 }' "$WORK/snap/final/uids.tsv")"
  code="$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 --netrc-file "$WORK/netrc2" "${BASE%/}$href")"
  verdict isolation-other-account "$([ "$other_n" = 0 ] && [ "$code" = 404 ] && echo ok)" \
    "$OTHER_USER's book lists $other_n cards; GET of $DAV_USER's card as $OTHER_USER: $code (want 0, 404)"
fi

finish
