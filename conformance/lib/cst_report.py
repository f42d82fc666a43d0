#!/usr/bin/env python3
"""Turn caldav-server-tester's per-check reports into PASS/FAIL lines.

    cst_report.py DIR

DIR holds, for every check class NAME that conformance/caldav-server-tester.sh ran on its
own (`--run-checks NAME --format hints`): NAME.out (the report, a Python dict literal of
every feature the run observed), NAME.err (its log) and NAME.rc (its exit status; 124
for a timeout). Standard library only.

Lines printed:
  check.NAME    PASS when the check ran to the end (exit 0); FAIL with the last error
                line otherwise (e.g. no calendar to test with).
  feature.F     one per feature any check observed, in the tester's own dotted names:
                PASS when its support is "full" (or, for a feature that carries a value,
                when that value is true or not a boolean); FAIL with the support level
                and the tester's note otherwise. A feature that two checks observed
                differently is a FAIL listing both.
"""

import ast
import os
import sys


def one_line(text, limit=300):
    return " ".join(str(text).split())[:limit]


def last_error(err_text):
    lines = [l.strip() for l in err_text.splitlines() if l.strip()]
    for line in reversed(lines):
        if "Error" in line or "error" in line:
            return line
    return lines[-1] if lines else "no output"


def verdict(info):
    """(ok, detail) for one feature's observed dict."""
    if not isinstance(info, dict):
        return False, "unreadable result %r" % (info,)
    note = info.get("behaviour")
    if "support" in info:
        support = info["support"]
        detail = "support=%s" % support
        if note:
            detail += " (%s)" % note
        return support == "full", detail
    if "value" in info:
        value = info["value"]
        ok = value is True or not isinstance(value, bool)
        return ok, "value=%r%s" % (value, " (%s)" % note if note else "")
    return False, "no support level: %r" % (info,)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    folder = sys.argv[1]
    names = sorted(f[:-3] for f in os.listdir(folder) if f.endswith(".rc"))
    features = {}  # feature -> {repr(info): (info, [checks])}

    def read(name, ext):
        try:
            with open(os.path.join(folder, name + ext), encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    for name in names:
        rc = read(name, ".rc").strip() or "?"
        out = read(name, ".out")
        observed = {}
        start = out.find("{")
        if start >= 0:
            try:
                observed = ast.literal_eval(out[start:])
            except (ValueError, SyntaxError):
                observed = {}
        if rc == "0":
            print("PASS check.%s: ran, %d features observed" % (name, len(observed)))
        elif rc == "124":
            print("FAIL check.%s: timed out" % name)
        else:
            print("FAIL check.%s: exit %s: %s" % (name, rc, one_line(last_error(read(name, ".err")))))
        if not isinstance(observed, dict):
            continue
        for feature, info in observed.items():
            seen = features.setdefault(feature, {})
            seen.setdefault(repr(info), (info, []))[1].append(name)

    for feature in sorted(features):
        variants = list(features[feature].values())
        if len(variants) == 1:
            info, checks = variants[0]
            ok, detail = verdict(info)
            print("%s feature.%s: %s" % ("PASS" if ok else "FAIL", feature, one_line(detail)))
        else:
            parts = ["%s from %s" % (verdict(i)[1], ",".join(c)) for i, c in variants]
            print("FAIL feature.%s: checks disagree: %s" % (feature, one_line("; ".join(parts), 500)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
