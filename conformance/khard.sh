#!/usr/bin/env bash
# khard (Debian package `khard`) on top of vdirsyncer (conformance/.venv) against a
# running dialbook: two cards put on the server with curl are synced down; khard lists
# and shows them, creates a contact from a YAML template and edits it from another one;
# vdirsyncer syncs back and the server's copies are checked field by field.
#
#   conformance/khard.sh BASE_URL USER PASSWORD
#   e.g. conformance/khard.sh http://127.0.0.1:5232/ +442079460001 s3cret
#
# The account's address book should start empty. Prints one "PASS name: detail" or
# "FAIL name: detail" line per check and a final "N passed, M failed" line; exits 1 when
# a check failed, 2 when the run itself could not be set up.
#
# Environment:
#   VDIRSYNCER_VERSION  pip requirement for a new .venv (default 0.21.0)
#   KEEP_WORK=1         keep the work directory (configs, logs, local cards)
set -euo pipefail

if [ $# -ne 3 ]; then
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi

BASE="${1%/}/"
DAV_USER="$2"
DAV_PASSWORD="$3"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
VDIRSYNCER_VERSION="${VDIRSYNCER_VERSION:-0.21.0}"

# shellcheck source-path=SCRIPTDIR source=lib/suite.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/suite.sh"
suite_require_local "$BASE"

suite_workdir khard

suite_trap_errors

# --- khard from Debian, vdirsyncer in conformance/.venv ----------------------------------
if ! command -v khard >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing khard (apt-get)" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq khard; } >&2 \
      || setup_error "apt-get install khard failed"
  else
    setup_error "khard is not installed (apt-get install khard)"
  fi
fi
if [ ! -x "$VENV/bin/vdirsyncer" ]; then
  echo "installing vdirsyncer $VDIRSYNCER_VERSION into $VENV" >&2
  python3 -m venv "$VENV" || setup_error "python3 -m venv failed"
  timeout 300 "$VENV/bin/pip" install --quiet --disable-pip-version-check --timeout 60 \
    "vdirsyncer==$VDIRSYNCER_VERSION" >&2 || setup_error "pip install vdirsyncer failed"
fi
echo "using khard $(khard --version 2>&1 | tail -n1), $("$VENV/bin/vdirsyncer" --version)" >&2

LOCAL="$WORK/local"
# The local collection exists up front, so `vdirsyncer discover` has nothing to ask.
mkdir -p "$LOCAL/contacts" "$WORK/status" "$WORK/logs"
BOOK_URL="${BASE}dav/addressbooks/${DAV_USER}/contacts/"

# --- configuration: vdirsyncer (server = b, wins conflicts), khard on the synced folder --
DAV_PASSWORD="$DAV_PASSWORD" python3 "$HERE/lib/vcards.py" vdirsyncer-config "$WORK/vdirsyncer.conf" \
  --status "$WORK/status/" --local "$LOCAL/" --url "$BASE" --user "$DAV_USER" --collections "from b"
python3 - "$WORK" "$LOCAL/" <<'PY'
import sys
work, local = sys.argv[1:]
with open(f"{work}/khard.conf", "w", encoding="utf-8") as f:
    f.write(f"""[addressbooks]
[[contacts]]
path = {local}contacts

[general]
debug = no
default_action = list
editor = /bin/false
merge_editor = /bin/false

[vcard]
preferred_version = 3.0
""")
PY

vds() { # LOGNAME ARGS...
  local name="$1"
  shift
  timeout 120 "$VENV/bin/vdirsyncer" -c "$WORK/vdirsyncer.conf" "$@" </dev/null \
    >"$WORK/logs/$name.log" 2>&1
}
kh() { timeout 60 khard -c "$WORK/khard.conf" "$@"; }
log_tail() { tail -n 3 "$WORK/logs/$1.log" | tr '\n' ' ' | cut -c1-300; }

# server_cards FILE: every card of the server's default book (PROPFIND + GET), as JSON
# {href: text}. The password travels in the environment, never on a command line.
server_cards() {
  DAV_PASSWORD="$DAV_PASSWORD" python3 - "$BOOK_URL" "$DAV_USER" "$1" <<'PY'
import base64, json, os, sys, urllib.parse, urllib.request
import xml.etree.ElementTree as ET
url, user, out = sys.argv[1:]
auth = "Basic " + base64.b64encode(f"{user}:{os.environ['DAV_PASSWORD']}".encode()).decode()
def req(method, u, body=None, headers=None):
    r = urllib.request.Request(u, data=body, method=method,
                               headers={"Authorization": auth, **(headers or {})})
    with urllib.request.urlopen(r, timeout=30) as resp:
        return resp.read()
body = b'<?xml version="1.0"?><propfind xmlns="DAV:"><prop><resourcetype/></prop></propfind>'
ms = ET.fromstring(req("PROPFIND", url, body, {"Depth": "1", "Content-Type": "application/xml"}))
cards = {}
for r in ms.findall("{DAV:}response"):
    href = r.findtext("{DAV:}href")
    if href.endswith("/"):
        continue
    cards[href] = req("GET", urllib.parse.urljoin(url, href)).decode("utf-8")
json.dump(cards, open(out, "w", encoding="utf-8"))
PY
}

# check_card FILE FN EXPECT...: exactly one server card has FN:<FN>, and every EXPECT
# (an unfolded content line, compared without parameters' order) occurs in it. Prints a
# detail; exit 0 when it holds.
check_card() {
  python3 - "$@" <<'PY'
import json, re, sys
path, fn, *want = sys.argv[1:]
cards = json.load(open(path, encoding="utf-8"))
def lines(text):
    text = re.sub(r"\r?\n[ \t]", "", text)  # unfold
    return [l for l in re.split(r"\r?\n", text) if l]
def norm(line):
    name, _, value = line.partition(":")
    head, *params = name.split(";")
    return (head.upper(), tuple(sorted(p.lower() for p in params)), value)
found = [(h, lines(t)) for h, t in cards.items() if f"FN:{fn}" in lines(t)]
if len(found) != 1:
    print(f"{len(found)} cards with FN:{fn} among {len(cards)}")
    sys.exit(1)
href, ls = found[0]
have = {norm(l) for l in ls}
missing = [w for w in want if norm(w) not in have]
if missing:
    print(f"{href} lacks {missing}")
    sys.exit(1)
uid = next((l[4:] for l in ls if l.startswith("UID:")), "")
print(f"{href}: {len(want)} fields as expected, UID {uid}")
PY
}

# --- (1) two cards on the server, synced down --------------------------------------------
seed() { # NAME UID FN N TEL EMAIL
  printf 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:%s\r\nFN:%s\r\nN:%s\r\nTEL;TYPE=CELL:%s\r\nEMAIL;TYPE=HOME:%s\r\nEND:VCARD\r\n' \
    "$2" "$3" "$4" "$5" "$6" >"$WORK/$1.vcf"
  DAV_PASSWORD="$DAV_PASSWORD" python3 - "${BOOK_URL}$1.vcf" "$DAV_USER" "$WORK/$1.vcf" <<'PY'
import base64, os, sys, urllib.request
url, user, path = sys.argv[1:]
auth = "Basic " + base64.b64encode(f"{user}:{os.environ['DAV_PASSWORD']}".encode()).decode()
r = urllib.request.Request(url, data=open(path, "rb").read(), method="PUT",
                           headers={"Authorization": auth, "If-None-Match": "*",
                                    "Content-Type": "text/vcard; charset=utf-8"})
print(urllib.request.urlopen(r, timeout=30).status)
PY
}
s1="$(seed ada khard-seed-ada 'Ada Lovelace' 'Lovelace;Ada;;;' '+44 20 7946 0100' 'ada@example.org')"
s2="$(seed jose khard-seed-jose 'José Ñúñez' 'Ñúñez;José;;;' '+34 600 000 111' 'jose@example.org')"
verdict seed "$([ "$s1" = 201 ] && [ "$s2" = 201 ] && echo ok)" "PUT of two cards: $s1 $s2"

rc=0
vds discover discover || rc=$?
vds sync-initial sync || rc=$?
n="$(find "$LOCAL/contacts" -name '*.vcf' | wc -l | tr -d ' ')"
verdict sync-initial "$([ "$rc" = 0 ] && [ "$n" = 2 ] && echo ok)" \
  "vdirsyncer discover + sync: exit $rc, $n cards locally; $(log_tail sync-initial)"

# --- (2) khard list / show ----------------------------------------------------------------
out="$(kh list </dev/null 2>&1 || true)"
verdict list "$(grep -q 'Ada Lovelace' <<<"$out" && grep -q 'José Ñúñez' <<<"$out" && echo ok)" \
  "khard list shows $(grep -cE 'Lovelace|Ñúñez' <<<"$out" || true) of the 2 synced contacts"

out="$(kh show --format yaml 'Ada Lovelace' </dev/null 2>&1 || true)"
verdict show "$(grep -q '+44 20 7946 0100' <<<"$out" && grep -q 'ada@example.org' <<<"$out" \
  && grep -Eq 'First name *: *Ada' <<<"$out" && echo ok)" \
  "khard show --format yaml: name, phone and email of the synced card"

# --- (3) khard new from a template, synced up ---------------------------------------------
cat >"$WORK/new.yaml" <<'EOF'
Formatted name : Grace Hopper
First name : Grace
Last name : Hopper
Phone :
    cell : +1 202 555 0147
Email :
    work : grace@example.org
Note : created by khard
EOF
rc=0
kh new -a contacts -i "$WORK/new.yaml" </dev/null >"$WORK/logs/new.log" 2>&1 || rc=$?
n="$(find "$LOCAL/contacts" -name '*.vcf' | wc -l | tr -d ' ')"
verdict new "$([ "$rc" = 0 ] && [ "$n" = 3 ] && echo ok)" "khard new -i template: exit $rc, $n cards locally"

rc=0
vds sync-new sync || rc=$?
verdict sync-new "$([ "$rc" = 0 ] && grep -q 'Copying (uploading) item' "$WORK/logs/sync-new.log" && echo ok)" \
  "vdirsyncer uploads the new contact: exit $rc; $(log_tail sync-new)"

server_cards "$WORK/server-new.json"
rc=0
d="$(check_card "$WORK/server-new.json" 'Grace Hopper' 'N:Hopper;Grace;;;' \
  'TEL;TYPE=cell:+1 202 555 0147' 'EMAIL;TYPE=work:grace@example.org' \
  'NOTE:created by khard')" || rc=$?
verdict server-new "$([ "$rc" = 0 ] && echo ok)" "$d"
uid_new="$(sed -n 's/.*UID \(.*\)$/\1/p' <<<"$d")"

# --- (4) khard edit from a template, synced up --------------------------------------------
sed -e 's/0147/0199/' -e 's/created by khard/edited by khard/' "$WORK/new.yaml" >"$WORK/edit.yaml"
printf 'Organisation : Dialbook Tests\n' >>"$WORK/edit.yaml"
rc=0
# khard asks "Do you want to proceed?" before writing an edit: answer on stdin.
printf 'y\n' | kh edit -i "$WORK/edit.yaml" 'Grace Hopper' >"$WORK/logs/edit.log" 2>&1 || rc=$?
verdict edit "$([ "$rc" = 0 ] && grep -rq 'ORG:Dialbook Tests' "$LOCAL/contacts" && echo ok)" \
  "khard edit -i template: exit $rc"

rc=0
vds sync-edit sync || rc=$?
verdict sync-edit "$([ "$rc" = 0 ] && grep -q 'Copying (updating) item' "$WORK/logs/sync-edit.log" && echo ok)" \
  "vdirsyncer uploads the edit: exit $rc; $(log_tail sync-edit)"

server_cards "$WORK/server-edit.json"
rc=0
d="$(check_card "$WORK/server-edit.json" 'Grace Hopper' 'N:Hopper;Grace;;;' \
  'TEL;TYPE=cell:+1 202 555 0199' 'EMAIL;TYPE=work:grace@example.org' \
  'NOTE:edited by khard' 'ORG:Dialbook Tests')" || rc=$?
uid_edit="$(sed -n 's/.*UID \(.*\)$/\1/p' <<<"$d")"
if [ "$rc" = 0 ] && { [ -z "$uid_new" ] || [ "$uid_edit" != "$uid_new" ]; }; then
  rc=1
  d="$d (UID changed from '$uid_new')"
fi
verdict server-edit "$([ "$rc" = 0 ] && echo ok)" "$d"

n="$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$WORK/server-edit.json")"
verdict server-count "$([ "$n" = 3 ] && echo ok)" "$n cards on the server (2 seeded + 1 created)"

# --- (5) nothing left to do -----------------------------------------------------------------
rc=0
vds sync-idle sync || rc=$?
verdict sync-idempotent "$([ "$rc" = 0 ] && ! grep -qE '^(Copying|Deleting item)' "$WORK/logs/sync-idle.log" && echo ok)" \
  "a further sync changes nothing: exit $rc"

finish
