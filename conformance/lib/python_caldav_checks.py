#!/usr/bin/env python3
"""The python `caldav` library (PyPI) used as a client would use it, against dialbook.

    python_caldav_checks.py BASE_URL USER PASSWORD [OTHER_USER OTHER_PASSWORD]

Run with the interpreter of conformance/.venv (where `caldav` is installed). Prints one
"PASS name: detail" / "FAIL name: detail" line per check; the shell wrapper
(conformance/python-caldav.sh) counts them. Every check is guarded: an exception in one
becomes its FAIL line and the run goes on.

CardDAV side (must pass): discovery from the bare URL, the address-book home through the
library's generic property API, sync-token and getctag, sync-collection through the
low-level `report` call. CalDAV side (the library's own calendar API): fails until
dialbook has CalDAV; conformance/expected/python-caldav.txt accepts those failures.
"""

import sys
import time
import uuid
from typing import ClassVar
from urllib.parse import unquote, urlsplit

import caldav
from caldav.elements import cdav, dav
from caldav.elements.base import BaseElement
from caldav.lib import error

NS_CARDDAV = "urn:ietf:params:xml:ns:carddav"
NS_CS = "http://calendarserver.org/ns/"


# Properties the library has no class for, declared the way its own elements are.
class AddressbookHomeSet(BaseElement):
    tag: ClassVar[str] = "{%s}addressbook-home-set" % NS_CARDDAV


class GetCTag(BaseElement):
    tag: ClassVar[str] = "{%s}getctag" % NS_CS


ADDRESSBOOK_TYPE = "{%s}addressbook" % NS_CARDDAV

RESULTS = []


def report(ok, name, detail):
    line = "%s %s: %s" % ("PASS" if ok else "FAIL", name, " ".join(str(detail).split()))
    print(line[:600], flush=True)
    RESULTS.append(ok)


def check(name):
    """Decorator: run the function now; it returns (ok, detail) or raises (a FAIL)."""

    def run(fn):
        try:
            ok, detail = fn()
        except Exception as exc:  # every failure mode is a result, not a crash
            ok, detail = False, "%s: %s" % (type(exc).__name__, exc)
        report(ok, name, detail)
        return ok

    return run


def path_of(url):
    """The decoded path of a URL object, string or href."""
    return unquote(urlsplit(str(url)).path)


def vcard(uid, name):
    return (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:%s\r\nFN:%s\r\nN:%s;;;;\r\n"
        "TEL;TYPE=CELL:+44 7700 900%03d\r\nEND:VCARD\r\n" % (uid, name, name, len(name))
    )


def sync_body(token):
    """A sync-collection REPORT body built from the library's DAV elements."""
    root = dav.SyncCollection() + [
        dav.SyncToken(value=token),
        dav.SyncLevel(value="1"),
        dav.Prop() + [dav.GetEtag()],
    ]
    return str(root)


def main():
    if len(sys.argv) not in (4, 6):
        print(__doc__, file=sys.stderr)
        return 2
    base, user, password = sys.argv[1:4]
    other = sys.argv[4:6] if len(sys.argv) == 6 else None
    base = base.rstrip("/") + "/"
    host = urlsplit(base).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        print("refusing a non-local base URL: %s" % base, file=sys.stderr)
        return 2

    want_principal = "/dav/principals/%s/" % user
    want_home = "/dav/addressbooks/%s/" % user
    want_book = want_home + "contacts/"
    print("using caldav %s" % caldav.__version__, file=sys.stderr)

    client = caldav.DAVClient(url=base, username=user, password=password, timeout=30)
    state = {}

    # --- discovery ----------------------------------------------------------------------
    @check("principal-discovered")
    def _():
        principal = client.principal()
        state["principal"] = principal
        got = path_of(principal.url)
        return got == want_principal, "client.principal() from url=%s: %s (want %s)" % (
            base,
            principal.url,
            want_principal,
        )

    @check("current-user-principal-root")
    def _():
        root = caldav.DAVObject(client=client, url=base)
        cup = root.get_property(dav.CurrentUserPrincipal())
        return path_of(cup) == want_principal, "PROPFIND / current-user-principal: %r" % cup

    @check("dav-header")
    def _():
        header = client.check_dav_support() or ""
        classes = [c.strip() for c in header.split(",")]
        return "addressbook" in classes, "OPTIONS on the principal, DAV: %s" % header

    @check("addressbook-home-set")
    def _():
        principal = state.get("principal") or caldav.Principal(client=client, url=want_principal)
        home = principal.get_property(AddressbookHomeSet())
        state["home"] = home
        return path_of(home) == want_home, "get_property(CARD:addressbook-home-set): %r" % home

    @check("addressbook-in-home")
    def _():
        home = caldav.DAVObject(client=client, url=state.get("home") or want_home)
        books = [str(u) for (u, _types, _name) in home.children(ADDRESSBOOK_TYPE)]
        state["book"] = books[0] if books else client.url.join(want_book)
        ok = [path_of(b) for b in books] == [want_book]
        return ok, "home.children(CARD:addressbook): %s" % (books or "none")

    book_url = str(state.get("book") or client.url.join(want_book))
    book = caldav.DAVObject(client=client, url=book_url)

    def tokens():
        props = book.get_properties([dav.SyncToken(), GetCTag()])
        return props.get(dav.SyncToken.tag), props.get(GetCTag.tag)

    # --- sync-token and getctag ------------------------------------------------------------
    before = {}

    @check("sync-token-readable")
    def _():
        before["sync"], before["ctag"] = tokens()
        return bool(before["sync"]), "get_properties([DAV:sync-token]): %r" % before["sync"]

    @check("getctag-readable")
    def _():
        return bool(before.get("ctag")), "get_properties([CS:getctag]): %r" % before.get("ctag")

    uid1 = "python-caldav-%s" % uuid.uuid4()
    card1 = book_url + uid1 + ".vcf"
    headers = {"Content-Type": "text/vcard; charset=utf-8", "If-None-Match": "*"}

    @check("put-card")
    def _():
        r = client.put(card1, vcard(uid1, "Ada Lovelace"), headers=headers)
        state["etag1"] = r.headers.get("ETag")
        return r.status == 201, "client.put() with If-None-Match: * → %s, ETag %s" % (
            r.status,
            state["etag1"],
        )

    after = {}

    @check("sync-token-changes")
    def _():
        after["sync"], after["ctag"] = tokens()
        ok = bool(after["sync"]) and after["sync"] != before.get("sync")
        return ok, "after the PUT: %r (before %r)" % (after["sync"], before.get("sync"))

    @check("getctag-changes")
    def _():
        ok = bool(after.get("ctag")) and after.get("ctag") != before.get("ctag")
        return ok, "after the PUT: %r (before %r)" % (after.get("ctag"), before.get("ctag"))

    # --- sync-collection through client.report ------------------------------------------
    sync = {}

    @check("sync-collection-initial")
    def _():
        r = client.report(book_url, sync_body(""), depth=0)
        res = r.parse_sync_collection()
        sync["token"] = res.sync_token
        changed = sorted(path_of(c.href) for c in res.changed)
        ok = (
            r.status == 207
            and path_of(card1) in changed
            and not res.deleted
            and res.sync_token == after.get("sync")
        )
        return ok, "empty token → %s, %d changed (the new card %s), deleted %s, token %r (PROPFIND said %r)" % (
            r.status,
            len(changed),
            "among them" if path_of(card1) in changed else "missing",
            res.deleted,
            res.sync_token,
            after.get("sync"),
        )

    uid2 = "python-caldav-%s" % uuid.uuid4()
    card2 = book_url + uid2 + ".vcf"

    @check("sync-collection-incremental")
    def _():
        put = client.put(card2, vcard(uid2, "Grace Hopper"), headers=headers)
        gone = client.delete(card1)
        r = client.report(book_url, sync_body(sync.get("token") or ""), depth=0)
        res = r.parse_sync_collection()
        changed = sorted(path_of(c.href) for c in res.changed)
        deleted = sorted(path_of(h) for h in res.deleted)
        ok = (
            put.status == 201
            and gone.status in (200, 204)
            and r.status == 207
            and changed == [path_of(card2)]
            and deleted == [path_of(card1)]
            and bool(res.sync_token)
            and res.sync_token != sync.get("token")
        )
        return ok, "PUT %s, DELETE %s; with the returned token → %s, changed %s, deleted %s" % (
            put.status,
            gone.status,
            r.status,
            changed,
            deleted,
        )

    @check("sync-collection-invalid-token")
    def _():
        bogus = "http://127.0.0.1/not-a-sync-token/%s" % uuid.uuid4()
        try:
            r = client.report(book_url, sync_body(bogus), depth=0)
        except error.AuthorizationError as exc:
            ok = exc.status == 403 and dav.ValidSyncToken.tag in (exc.preconditions or [])
            return ok, "unknown token → %s, preconditions %s" % (exc.status, exc.preconditions)
        return False, "unknown token → %s (want 403 with DAV:valid-sync-token)" % r.status

    if other:

        @check("isolation-other-account")
        def _():
            intruder = caldav.DAVClient(url=base, username=other[0], password=other[1], timeout=30)
            own = path_of(intruder.principal().url)
            foreign = caldav.DAVObject(client=intruder, url=book_url)
            try:
                got = foreign.get_properties([dav.SyncToken()])
                return False, "%s read %s's book: %r" % (other[0], user, got)
            except (error.NotFoundError, error.AuthorizationError) as exc:
                return own == "/dav/principals/%s/" % other[0], "%s's principal %s; %s's book → %s %s" % (
                    other[0],
                    own,
                    user,
                    type(exc).__name__,
                    getattr(exc, "status", "") or "",
                )

    # --- principal-property-search (RFC 3744 §9.4) as the library sends it -----------------
    @check("search-principals")
    def _():
        found = [path_of(p.url) for p in client.search_principals(name=user)]
        return want_principal in found, "client.search_principals(name=%s): %s" % (user, found)

    # --- the library's CalDAV API: fails until dialbook has CalDAV ----------------------
    principal = state.get("principal") or caldav.Principal(client=client, url=want_principal)

    @check("caldav-advertised")
    def _():
        return client.check_cdav_support(), "DAV header has calendar-access: %s" % (
            client.check_dav_support()
        )

    @check("calendar-home-set")
    def _():
        chs = principal.get_property(cdav.CalendarHomeSet())
        return bool(chs), "get_property(CAL:calendar-home-set): %r" % chs

    cal = {}

    @check("make-calendar")
    def _():
        c = principal.make_calendar(name="python-caldav check", cal_id="python-caldav-%d" % time.time())
        cal["c"] = c
        return True, "principal.make_calendar(): %s" % c.url

    @check("calendars-list")
    def _():
        found = [str(c.url) for c in principal.calendars()]
        want = str(cal["c"].url) if "c" in cal else None
        return bool(want) and want in found, "principal.calendars(): %s" % (found or "none")

    def need_calendar():
        if "c" not in cal:
            raise RuntimeError("no calendar (make-calendar failed)")
        return cal["c"]

    @check("save-event")
    def _():
        ev = need_calendar().save_event(
            dtstart="2026-01-02T10:00:00Z",
            dtend="2026-01-02T11:00:00Z",
            summary="python-caldav check",
            uid="python-caldav-event-%s" % uuid.uuid4(),
        )
        cal["ev"] = ev
        return True, "calendar.save_event(): %s" % ev.url

    @check("search-events")
    def _():
        from datetime import datetime, timezone

        found = need_calendar().search(
            event=True,
            start=datetime(2026, 1, 1, tzinfo=timezone.utc),
            end=datetime(2026, 1, 3, tzinfo=timezone.utc),
        )
        return len(found) == 1, "calendar.search(event, time range): %d found (want 1)" % len(found)

    @check("calendar-sync-token")
    def _():
        objs = need_calendar().objects_by_sync_token()
        return len(list(objs)) == 1 and bool(objs.sync_token), "objects_by_sync_token(): token %r" % (
            objs.sync_token
        )

    @check("delete-calendar")
    def _():
        need_calendar().delete()
        return True, "calendar.delete()"

    failed = RESULTS.count(False)
    print("%d checks, %d failed" % (len(RESULTS), failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
