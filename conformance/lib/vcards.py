#!/usr/bin/env python3
"""vCard helpers for the conformance suites (standard library only).

Subcommands:
  generate   copy the real-client fixtures N times with fresh UIDs and varied names
  edit       change one card the way a user would (new FN suffix, an X- property)
  hrefs      list the vCard members (href, etag) of a PROPFIND Depth 1 multistatus
  curlcfg    write a curl config that GETs every href of a listing into a directory
  compare    compare the expected state with the server's and the local cards

Cards are handled as bytes everywhere; nothing here re-encodes a card it did not edit.
"""

import argparse
import base64
import hashlib
import json
import os
import re
import sys
import urllib.parse
import uuid
import xml.etree.ElementTree as ET

# Fixtures that imitate a client's sync traffic. Left out on purpose:
#   control-chars.vcf  the server repairs it on ingest (stored bytes differ by design)
#   latin1.vcf         not UTF-8; vdirsyncer reads and writes UTF-8 only
#   no-uid.vcf         has no UID to replace; the server adds one (bytes differ by design)
FIXTURES = [
    "apple-ios-3.0.vcf",
    "apple-group.vcf",
    "davx5-3.0.vcf",
    "davx5-4.0.vcf",
    "google-3.0.vcf",
    "kind-group-4.0.vcf",
    "thunderbird-4.0.vcf",
]

# Name suffixes: accented Latin, Greek, Cyrillic, CJK, Arabic, and 4-byte UTF-8 (emoji).
NAME_TOKENS = ["Ærø", "Łódź", "Ωμέγα", "Жуков", "東京", "سلام", "Zoë", "👩‍🔬", "Ñandú", "Ülkü"]

DAV = "{DAV:}"


def die(msg):
    print(f"vcards.py: {msg}", file=sys.stderr)
    sys.exit(2)


# --- line handling ----------------------------------------------------------------------


def split_physical(raw):
    """Physical lines without their terminators, and the terminator used (CRLF or LF)."""
    eol = b"\r\n" if b"\r\n" in raw else b"\n"
    lines = raw.split(eol)
    if lines and lines[-1] == b"":
        lines.pop()
    return lines, eol


def unfold(raw):
    """Logical lines (bytes) after normalising CRLF/LF and undoing folding."""
    text = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    text = re.sub(rb"\n[ \t]", b"", text)
    return [line for line in text.split(b"\n") if line != b""]


def fold(line, limit=75):
    """Fold one logical line at `limit` octets, never inside a UTF-8 sequence."""
    out = []
    first = True
    while True:
        room = limit if first else limit - 1
        if len(line) <= room:
            out.append(line if first else b" " + line)
            return out
        cut = room
        while cut > 0 and (line[cut] & 0xC0) == 0x80:
            cut -= 1
        out.append(line[:cut] if first else b" " + line[:cut])
        line = line[cut:]
        first = False


def prop_name(logical):
    """(group, NAME) of a logical line."""
    head = re.split(rb"[;:]", logical, maxsplit=1)[0]
    group, _, name = head.rpartition(b".")
    return group.decode("ascii", "replace"), name.decode("ascii", "replace").upper()


def prop_value(logical):
    """The value after the first colon that is not inside a quoted parameter."""
    quoted = False
    for i, c in enumerate(logical):
        if c == 0x22:
            quoted = not quoted
        elif c == 0x3A and not quoted:
            return logical[i + 1 :]
    return b""


def uid_of(raw):
    for line in unfold(raw):
        if prop_name(line)[1] == "UID":
            return prop_value(line).decode("utf-8")
    return None


def replace_logical(raw, predicate, make):
    """Replace every logical line matching predicate(logical) with make(logical),
    re-folding only the lines that change. Other bytes stay exactly as they were."""
    phys, eol = split_physical(raw)
    groups = []  # list of lists of physical lines forming one logical line
    for p in phys:
        if p[:1] in (b" ", b"\t") and groups:
            groups[-1].append(p)
        else:
            groups.append([p])
    out = []
    for g in groups:
        logical = g[0] + b"".join(x[1:] for x in g[1:])
        if predicate(logical):
            out.extend(fold(make(logical)))
        else:
            out.extend(g)
    return eol.join(out) + eol


def insert_before_end(raw, logical):
    phys, eol = split_physical(raw)
    end = max(i for i, p in enumerate(phys) if p.upper() == b"END:VCARD")
    phys[end:end] = fold(logical)
    return eol.join(phys) + eol


# --- generate -------------------------------------------------------------------------


def fresh_uid(old, index, seed):
    """A new UID in the style of the old one (upper/lower UUID or short hex)."""
    u = uuid.UUID(bytes=hashlib.sha256(f"{seed}:{index}".encode()).digest()[:16], version=4)
    if re.fullmatch(r"[0-9A-F-]{36}", old):
        return str(u).upper()
    if re.fullmatch(r"[0-9a-f-]{36}", old):
        return str(u)
    return u.hex[: max(len(old), 12)]


def first_component_suffix(value, suffix):
    """Append suffix to the first ;-separated component of a structured value."""
    m = re.search(rb"(?<!\\);", value)
    if m is None:
        return value + suffix
    return value[: m.start()] + suffix + value[m.start() :]


def make_card(fixture_raw, index, seed):
    old_uid = uid_of(fixture_raw)
    if not old_uid:
        die("fixture without UID")
    new_uid = fresh_uid(old_uid, index, seed)
    token = NAME_TOKENS[index % len(NAME_TOKENS)]
    suffix = f" {token} {index:04d}".encode("utf-8")

    def is_(name):
        return lambda line: prop_name(line)[1] == name

    def head_value(line):
        v = prop_value(line)
        return line[: len(line) - len(v)], v

    def new_fn(line):
        h, v = head_value(line)
        return h + v + suffix

    def new_n(line):
        h, v = head_value(line)
        return h + first_component_suffix(v, suffix)

    def new_uid_line(line):
        h, _ = head_value(line)
        return h + new_uid.encode("ascii")

    raw = replace_logical(fixture_raw, is_("UID"), new_uid_line)
    raw = replace_logical(raw, is_("FN"), new_fn)
    raw = replace_logical(raw, is_("N"), new_n)
    return new_uid, raw


def cmd_generate(args):
    fixtures = []
    for name in FIXTURES:
        with open(os.path.join(args.fixtures, name), "rb") as f:
            fixtures.append((name, f.read()))
    for d in (args.out, args.expected):
        os.makedirs(d, exist_ok=True)
    uids = set()
    for i in range(args.start, args.start + args.count):
        name, raw = fixtures[i % len(fixtures)]
        uid, card = make_card(raw, i, args.seed)
        if uid in uids:
            die(f"duplicate generated UID {uid}")
        uids.add(uid)
        for d in (args.out, args.expected):
            with open(os.path.join(d, uid + ".vcf"), "wb") as f:
                f.write(card)
        if args.manifest:
            with open(args.manifest, "a", encoding="utf-8") as f:
                f.write(f"{uid}\t{name}\n")
    print(len(uids))


# --- edit -----------------------------------------------------------------------------


def cmd_edit(args):
    with open(args.src, "rb") as f:
        raw = f.read()
    tag = args.tag.encode("utf-8")

    def new_fn(line):
        v = prop_value(line)
        return line[: len(line) - len(v)] + v + b" \xe2\x9c\x8e " + tag  # U+270E

    raw = replace_logical(raw, lambda l: prop_name(l)[1] == "FN", new_fn)
    raw = replace_logical(
        raw, lambda l: prop_name(l)[1] == "X-DIALBOOK-EDIT", lambda l: b"X-DIALBOOK-EDIT:" + tag
    )
    if not any(prop_name(l)[1] == "X-DIALBOOK-EDIT" for l in unfold(raw)):
        raw = insert_before_end(raw, b"X-DIALBOOK-EDIT:" + tag)
    for d in args.dst:
        with open(d, "wb") as f:
            f.write(raw)


# --- PROPFIND listing and curl config --------------------------------------------------


def members(xml_path):
    tree = ET.parse(xml_path)
    out = []
    for resp in tree.getroot().iter(DAV + "response"):
        href = resp.findtext(DAV + "href")
        etag = None
        ctype = None
        is_coll = False
        for ps in resp.iter(DAV + "propstat"):
            if "200" not in (ps.findtext(DAV + "status") or ""):
                continue
            prop = ps.find(DAV + "prop")
            if prop is None:
                continue
            etag = prop.findtext(DAV + "getetag") or etag
            ctype = prop.findtext(DAV + "getcontenttype") or ctype
            rt = prop.find(DAV + "resourcetype")
            if rt is not None and rt.find(DAV + "collection") is not None:
                is_coll = True
        if href and not is_coll and (ctype or "").startswith("text/vcard"):
            out.append((href, etag or ""))
    return out


def cmd_hrefs(args):
    for href, etag in members(args.xml):
        print(f"{href}\t{etag}")


def cmd_curlcfg(args):
    """curl -K config fetching every member into DIR/NNNNN.vcf, and DIR/index.tsv
    (file, href, etag) so that the bodies can be matched to their listing."""
    os.makedirs(args.dir, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f, open(
        os.path.join(args.dir, "index.tsv"), "w", encoding="utf-8"
    ) as idx:
        for i, (href, etag) in enumerate(members(args.xml)):
            url = urllib.parse.urljoin(args.base, href)
            name = "%05d.vcf" % i
            f.write(f'url = "{url}"\noutput = "{os.path.join(args.dir, name)}"\n')
            idx.write(f"{name}\t{href}\t{etag}\n")


def cmd_uidmap(args):
    """uid, href, etag, file for every body fetched by a curlcfg config."""
    with open(os.path.join(args.dir, "index.tsv"), encoding="utf-8") as idx:
        for row in idx:
            name, href, etag = row.rstrip("\n").split("\t")
            path = os.path.join(args.dir, name)
            with open(path, "rb") as f:
                uid = uid_of(f.read())
            print(f"{uid}\t{href}\t{etag}\t{path}")


def cmd_same(args):
    """Exit 0 when every file holds the same card as the first one (after unfolding and
    EOL normalisation), and the local directory holds that card exactly once."""
    with open(args.want, "rb") as f:
        want = f.read()
    problems = []
    for path in args.files:
        with open(path, "rb") as f:
            if unfold(f.read()) != unfold(want):
                problems.append(f"{path} differs")
    if args.local_dir:
        copies = load_dir(args.local_dir).get(uid_of(want), [])
        if len(copies) != 1:
            problems.append(f"{len(copies)} local copies")
        elif unfold(copies[0]) != unfold(want):
            problems.append("local copy differs")
    if problems:
        print("; ".join(problems))
        sys.exit(1)
    print("same")


# --- compare --------------------------------------------------------------------------


def load_dir(path):
    """{uid: [raw, ...]} for every *.vcf in path (several entries = duplicates)."""
    out = {}
    if not os.path.isdir(path):
        return out
    for name in sorted(os.listdir(path)):
        if not name.endswith(".vcf"):
            continue
        with open(os.path.join(path, name), "rb") as f:
            raw = f.read()
        out.setdefault(uid_of(raw) or f"<no UID in {name}>", []).append(raw)
    return out


def feature_lines(raw, feature):
    lines = unfold(raw)
    if feature == "groups":
        return [l for l in lines if prop_name(l)[0]]
    if feature == "photo":
        return [l for l in lines if prop_name(l)[1] == "PHOTO"]
    if feature == "x-props":
        return [l for l in lines if prop_name(l)[1].startswith("X-")]
    if feature == "non-ascii":
        return [l for l in lines if any(c >= 0x80 for c in l)]
    raise ValueError(feature)


def photo_bytes(lines):
    return [base64.b64decode(prop_value(l), validate=True) for l in lines]


class Report:
    def __init__(self, prefix):
        self.prefix = prefix

    def check(self, name, ok, detail):
        print(f"{'PASS' if ok else 'FAIL'} {self.prefix}{name}: {detail}")
        sys.stdout.flush()


def cmd_compare(args):
    r = Report(args.prefix)
    expected = {u: v[0] for u, v in load_dir(args.expected).items()}
    sides = {"server": load_dir(args.server), "local": load_dir(args.local)}

    # Same set of UIDs on each side, each exactly once.
    for side, cards in sides.items():
        dups = sorted(u for u, v in cards.items() if len(v) > 1)
        missing = sorted(set(expected) - set(cards))
        extra = sorted(set(cards) - set(expected))
        ok = not dups and not missing and not extra and len(cards) == args.count == len(expected)
        r.check(
            f"uids-{side}",
            ok,
            f"{len(cards)} cards, expected {len(expected)} (want {args.count}); "
            f"{len(dups)} duplicated, {len(missing)} missing, {len(extra)} unexpected"
            + (f"; e.g. {(dups + missing + extra)[:3]}" if not ok else ""),
        )

    # Content: byte-exact, or equal once line endings and folding are normalised.
    for side, cards in sides.items():
        exact = normalised = differ = 0
        examples = []
        crlf_lost = 0
        for uid, want in expected.items():
            got = cards.get(uid, [None])[0]
            if got is None:
                continue
            if got == want:
                exact += 1
            elif unfold(got) == unfold(want):
                normalised += 1
                if b"\r\n" in want and b"\r\n" not in got:
                    crlf_lost += 1
            else:
                differ += 1
                if len(examples) < 2:
                    a, b = unfold(want), unfold(got)
                    first = next(
                        (i for i in range(max(len(a), len(b))) if a[i : i + 1] != b[i : i + 1]), 0
                    )
                    examples.append(
                        f"{uid}: line {first}: want {a[first:first+1]!r} got {b[first:first+1]!r}"
                    )
        r.check(
            f"content-{side}",
            differ == 0,
            f"{exact} byte-exact, {normalised} equal after unfolding/EOL normalisation"
            + (f" ({crlf_lost} of them lost CRLF)" if crlf_lost else "")
            + f", {differ} different"
            + (f"; {'; '.join(examples)}" if examples else ""),
        )
        if args.exact_side == side:
            r.check(
                f"bytes-exact-{side}",
                exact == len(expected) and differ == 0 and normalised == 0,
                f"{exact}/{len(expected)} byte-identical to what was written",
            )

    if args.brief:
        return
    # Property families the goal names, checked on both sides.
    for feature in ("groups", "photo", "x-props", "non-ascii"):
        cards_with = 0
        bad = []
        for uid, want in expected.items():
            w = feature_lines(want, feature)
            if not w:
                continue
            cards_with += 1
            for side, cards in sides.items():
                got = cards.get(uid, [None])[0]
                if got is None:
                    continue
                g = feature_lines(got, feature)
                ok = g == w
                if ok and feature == "photo":
                    try:
                        ok = photo_bytes(g) == photo_bytes(w)
                    except ValueError:
                        ok = False
                if not ok:
                    bad.append(f"{side}:{uid}")
        r.check(
            f"{feature}-intact",
            cards_with > 0 and not bad,
            f"{cards_with} cards carry {feature}; {len(bad)} side/card pairs differ"
            + (f"; e.g. {bad[:3]}" if bad else ""),
        )


def cmd_vdirsyncer_config(args):
    """Write a vdirsyncer config pairing a local folder with the server's CardDAV home.

    The password comes from the environment (DAV_PASSWORD), not the command line."""
    q = json.dumps  # vdirsyncer reads values as JSON
    collections = ", ".join(q(c) for c in args.collections)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(f"""[general]
status_path = {q(args.status)}

[pair dialbook]
a = "dialbook_local"
b = "dialbook_server"
collections = [{collections}]
conflict_resolution = "b wins"
metadata = []

[storage dialbook_local]
type = "filesystem"
path = {q(args.local)}
fileext = ".vcf"

[storage dialbook_server]
type = "carddav"
url = {q(args.url)}
username = {q(args.user)}
password = {q(os.environ["DAV_PASSWORD"])}
""")
    os.chmod(args.out, 0o600)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    g = sub.add_parser("generate")
    g.add_argument("--fixtures", required=True)
    g.add_argument("--out", required=True)
    g.add_argument("--expected", required=True)
    g.add_argument("--count", type=int, required=True)
    g.add_argument("--start", type=int, default=0)
    g.add_argument("--seed", default="dialbook-conformance")
    g.add_argument("--manifest")
    g.set_defaults(fn=cmd_generate)

    e = sub.add_parser("edit")
    e.add_argument("src")
    e.add_argument("tag")
    e.add_argument("dst", nargs="+")
    e.set_defaults(fn=cmd_edit)

    h = sub.add_parser("hrefs")
    h.add_argument("xml")
    h.set_defaults(fn=cmd_hrefs)

    c = sub.add_parser("curlcfg")
    c.add_argument("xml")
    c.add_argument("base")
    c.add_argument("dir")
    c.add_argument("out")
    c.set_defaults(fn=cmd_curlcfg)

    u = sub.add_parser("uidmap")
    u.add_argument("dir")
    u.set_defaults(fn=cmd_uidmap)

    s = sub.add_parser("same")
    s.add_argument("want")
    s.add_argument("files", nargs="*")
    s.add_argument("--local-dir")
    s.set_defaults(fn=cmd_same)

    m = sub.add_parser("compare")
    m.add_argument("--expected", required=True)
    m.add_argument("--server", required=True)
    m.add_argument("--local", required=True)
    m.add_argument("--count", type=int, required=True)
    m.add_argument("--prefix", default="")
    m.add_argument("--exact-side", choices=["server", "local"])
    m.add_argument("--brief", action="store_true", help="UIDs and content only")
    m.set_defaults(fn=cmd_compare)

    v = sub.add_parser("vdirsyncer-config")
    v.add_argument("out")
    v.add_argument("--status", required=True)
    v.add_argument("--local", required=True)
    v.add_argument("--url", required=True)
    v.add_argument("--user", required=True)
    v.add_argument("--collections", nargs="+", required=True)
    v.set_defaults(fn=cmd_vdirsyncer_config)

    args = p.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
