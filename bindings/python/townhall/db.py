"""The Townhall class: one open database handle (th_db)."""
from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import threading
from ctypes import POINTER, byref, c_int, c_int64, c_size_t, c_void_p, \
    create_string_buffer, memset, string_at
from typing import (Any, Callable, Dict, Iterable, Iterator, List, Optional,
                    Sequence, Tuple, Union)

from . import _lib as L
from ._lib import lib
from .errors import HandleClosed, InvalidArgument, error_for
from .types import (Answer, AuditEntry, Comment, Consultation, Counts, Idea,
                    IdeaPage, KeyRotation, Moderation, NewToken, PageList,
                    PageSummary, PurgeReport, Role, Site, Sort, Status,
                    Submission, TokenInfo, VoteDay, Who, from_datetime)

Text = Union[str, bytes]
WhoLike = Union[Who, str]
Time = Union[int, _dt.datetime, _dt.date, None]

RECORDED = 1
DUPLICATE = 2

OPEN_READONLY = 1
OPEN_NOCREATE = 2
OPEN_NOMIGRATE = 4


# ---- conversions ------------------------------------------------------------

def _b(value: Optional[Text], what: str = "text") -> Optional[bytes]:
    """A str (or bytes, passed as they are) as the NUL-terminated UTF-8 the
    C API takes. Lone surrogates are passed through ("surrogatepass") so
    that the library, not Python, reports text that is not valid UTF-8."""
    if value is None:
        return None
    if isinstance(value, str):
        data = value.encode("utf-8", "surrogatepass")
    elif isinstance(value, (bytes, bytearray)):
        data = bytes(value)
    else:
        raise TypeError(f"{what} must be str, not {type(value).__name__}")
    if b"\0" in data:
        raise InvalidArgument(f"{what} contains a NUL character")
    return data


def _s(value: Optional[bytes]) -> str:
    return value.decode("utf-8", "replace") if value else ""


def _who(who: Optional[WhoLike]) -> Optional[L.th_who]:
    if who is None:
        return None
    if isinstance(who, str):
        who = Who(resident=who)
    if not isinstance(who, Who):
        raise TypeError("who is a Who or a resident id (str)")
    return L.th_who(_b(who.resident, "resident"), _b(who.ip, "ip"),
                    _b(who.user_agent, "user_agent"))


def _enum(value: Any, cls, what: str) -> int:
    if isinstance(value, cls):
        return int(value)
    if isinstance(value, str):
        try:
            return int(cls[value.strip().upper()])
        except KeyError:
            names = ", ".join(m.name.lower() for m in cls)
            raise InvalidArgument(
                f"{what} {value!r} is not one of {names}") from None
    if isinstance(value, int) and not isinstance(value, bool):
        return value  # out-of-range numbers are the library's to refuse
    raise TypeError(f"{what} must be a {cls.__name__}, a name or an int")


def _site(s: L.th_site) -> Site:
    return Site(id=s.id, slug=_s(s.slug), name=_s(s.name),
                origins=_s(s.origins), keep_params=_s(s.keep_params),
                moderate_ideas=bool(s.moderate_ideas),
                allow_anonymous=bool(s.allow_anonymous),
                rank_anonymous=bool(s.rank_anonymous),
                comment_days=s.comment_days, audit_days=s.audit_days,
                key_days=s.key_days, open_min=s.open_min,
                open_round=s.open_round, created=s.created,
                wards=_items(s.wards), categories=_items(s.categories),
                contacts=_items(s.contacts))


def _items(lines: Optional[bytes]) -> Tuple[str, ...]:
    """A list the library keeps one item per line, as a tuple."""
    return tuple(_s(lines).split("\n")) if lines else ()


def _lines(items: Any, what: str) -> bytes:
    """A list of strings as the library takes it: one item per line."""
    if isinstance(items, str):
        raise TypeError(f"{what} must be a list of strings, not a string")
    items = list(items or ())
    for i in items:
        if not isinstance(i, str) or "\n" in i or "\r" in i:
            raise InvalidArgument(f"{what}: each item is one line of text")
    return _b("\n".join(items), what)


def _consultation(c: L.th_consultation) -> Consultation:
    return Consultation(id=c.id, site_id=c.site_id, slug=_s(c.slug),
                        title=_s(c.title), description=_s(c.description),
                        ward=_s(c.ward), opens=c.opens, closes=c.closes,
                        key_destroyed=bool(c.key_destroyed),
                        created=c.created)


def _status(v: int):
    try:
        return Status(v)
    except ValueError:
        return v


def _idea(i: L.th_idea) -> Idea:
    return Idea(id=i.id, consultation_id=i.consultation_id,
                consultation=_s(i.consultation), title=_s(i.title),
                body=_s(i.body), category=_s(i.category), ward=_s(i.ward),
                status=_status(i.status), merged_into=i.merged_into,
                response=_s(i.response), response_at=i.response_at,
                up=i.up, down=i.down, anon_up=i.anon_up,
                anon_down=i.anon_down, top=i.top, hot=i.hot,
                controversial=i.controversial, created=i.created,
                updated=i.updated,
                public=bool(lib.th_idea_is_public(byref(i))))


def _summary(p: L.th_page_summary) -> PageSummary:
    exact = bool(p.exact)

    # Published figures: TH_WITHHELD (-1) for a count, a negative double
    # for the mean and the bound, become None. Exact ones are never
    # withheld.
    def count(v: int) -> Optional[int]:
        return None if not exact and v == L.WITHHELD else v

    def figure(v: float) -> Optional[float]:
        return None if not exact and v < 0 else v

    return PageSummary(page=_s(p.page), yes=count(p.yes), no=count(p.no),
                       responses=count(p.responses),
                       ratings=tuple(count(r) for r in p.ratings),
                       rating_count=count(p.rating_count),
                       rating_mean=figure(p.rating_mean),
                       useful_lower=figure(p.useful_lower),
                       comments=count(p.comments), first=p.first,
                       last=p.last, exact=exact)


def _token_info(t: L.th_token_info) -> TokenInfo:
    try:
        role = Role(t.role)
    except ValueError:
        role = t.role
    return TokenInfo(id=t.id, site=_s(t.site), role=role, label=_s(t.label),
                     created=t.created, expires=t.expires,
                     revoked=bool(t.revoked))


def _take_string(p: c_void_p) -> str:
    """Copies and frees a char * the library allocated for us."""
    try:
        return string_at(p.value).decode("utf-8", "replace") if p.value \
            else ""
    finally:
        lib.th_free(p)


# ---- a verified staff member -------------------------------------------------

class Staff:
    """A verified staff member (th_staff): a staff token's holder, with its
    role, made only by Townhall.staff_from_token, never from a role given
    by hand. Pass it to the methods named ``*_as``, which check in the
    library that its role may do what is asked (docs/SECURITY.md, "Who may
    do what"), as the HTTP API does; None there is the public (anyone, or
    a signed-in resident). It is what the token was when checked: the
    ``*_as`` methods refuse it once the token has expired, but do not see a
    later revocation, so make one per request or session. The check is for
    consistency between callers, not a boundary against this process."""

    __slots__ = ("_ptr", "role", "token_id", "label", "site", "actor",
                 "__weakref__")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("a Staff is made by Townhall.staff_from_token")

    @classmethod
    def _take(cls, ptr: c_void_p) -> "Staff":
        self = object.__new__(cls)
        self._ptr = ptr
        try:
            self.role = Role(lib.th_staff_role(ptr))
        except ValueError:
            self.role = lib.th_staff_role(ptr)
        self.token_id = lib.th_staff_token_id(ptr)
        self.label = _s(lib.th_staff_label(ptr))
        self.site = _s(lib.th_staff_site(ptr)) or None
        self.actor = _s(lib.th_staff_actor(ptr))
        return self

    def __del__(self) -> None:
        ptr = getattr(self, "_ptr", None)
        if ptr is not None and ptr.value:
            lib.th_staff_free(ptr)
            self._ptr = None

    def __repr__(self) -> str:
        role = self.role.name.lower() if isinstance(self.role, Role) \
            else self.role
        return f"<Staff {self.actor!r} {role} site={self.site!r}>"


def _staff(staff: Optional[Staff]) -> Optional[c_void_p]:
    if staff is None:
        return None
    if not isinstance(staff, Staff):
        raise TypeError("staff is a Staff (Townhall.staff_from_token) or None")
    return staff._ptr


# ---- the handle -------------------------------------------------------------

class Townhall:
    """An open townhall database.

    ::

        with Townhall("council.db") as th:
            th.create_site("camden", "Camden Council")
            idea = th.submit_idea("camden", "resident-42",
                                  "More benches in the park")
            th.vote("camden", "resident-7", idea.id, +1)

    The key file ("<db>.key" unless ``key_file`` is given) is created beside
    the database on first use and must be kept: without it pseudonyms and
    site secrets cannot be recomputed.

    Threads: a handle may be used from several threads; calls on one handle
    are serialised by a lock (the C library allows one thread at a time per
    handle). For parallel work open one Townhall per thread.
    """

    def __init__(self, path: Union[str, os.PathLike], *,
                 key_file: Union[str, os.PathLike, None] = None,
                 readonly: bool = False, create: bool = True,
                 migrate: bool = True, busy_timeout_ms: int = 0,
                 synchronous: Optional[str] = None,
                 persist_salts: bool = True,
                 clock: Optional[Callable[[], Union[int, _dt.datetime]]] =
                 None) -> None:
        self._lock = threading.RLock()
        self._db: Optional[int] = None
        self.path = os.fspath(path)
        opt = L.th_open_options()
        if key_file is not None:
            opt.key_file = os.fsencode(key_file)
        opt.flags = ((OPEN_READONLY if readonly else 0)
                     | (0 if create else OPEN_NOCREATE)
                     | (0 if migrate else OPEN_NOMIGRATE))
        opt.busy_timeout_ms = busy_timeout_ms
        sync = {None: 0, "full": 2, "normal": 1}
        if synchronous not in sync:
            raise InvalidArgument("synchronous is 'full' or 'normal'")
        opt.synchronous = sync[synchronous]
        opt.persist_salts = 0 if persist_salts else -1
        # The callback must outlive the handle: keep it on the object.
        self._clock = None
        if clock is not None:
            def now(_data, _clock=clock):
                return from_datetime(_clock())
            self._clock = L.NOW_FUNC(now)
            opt.now = self._clock
        db = c_void_p()
        rc = lib.th_open(byref(db), os.fsencode(path), byref(opt))
        if rc != 0:
            msg = _s(lib.th_errmsg(db)) if db.value else _s(
                lib.th_strerror(rc))
            lib.th_close(db)
            raise error_for(rc, msg)
        self._db = db.value

    # -- life cycle --

    def close(self) -> None:
        """Closes the handle (rolling back a batch still open). Idempotent."""
        with self._lock:
            if self._db is not None:
                lib.th_close(self._db)
                self._db = None

    @property
    def closed(self) -> bool:
        return self._db is None

    def __enter__(self) -> "Townhall":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if getattr(self, "_db", None) is not None:
                self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<Townhall {self.path!r} {state}>"

    def _handle(self) -> int:
        if self._db is None:
            raise HandleClosed("the Townhall handle is closed")
        return self._db

    def _call(self, fn: Any, *args: Any) -> int:
        """Calls fn(db, *args) under the handle's lock; raises the exception
        for a negative code, with the library's message for it."""
        with self._lock:
            db = self._handle()
            rc = fn(db, *args)
            if rc < 0:
                raise error_for(rc, _s(lib.th_errmsg(db)))
            return rc

    # -- the handle --

    @property
    def schema_version(self) -> int:
        with self._lock:
            return lib.th_schema_version(self._handle())

    def now(self) -> int:
        """The handle's clock, in milliseconds since the epoch."""
        with self._lock:
            return lib.th_now(self._handle())

    def backup(self, dest: Union[str, os.PathLike]) -> None:
        """Writes a consistent snapshot of the database to the new file
        `dest` (SQLite's online backup: safe while a server keeps writing).
        The key file is not in it: back that up too. Raises AlreadyExists
        if dest exists."""
        self._call(lib.th_backup, os.fsencode(dest))

    @contextlib.contextmanager
    def batch(self) -> Iterator["Townhall"]:
        """Many writes in one transaction: committed when the block ends,
        rolled back if it raises. Other threads wait until it ends."""
        with self._lock:
            self._call(lib.th_batch_begin)
            try:
                yield self
            except BaseException:
                if self._db is not None:
                    lib.th_batch_rollback(self._db)
                raise
            self._call(lib.th_batch_commit)

    # -- sites --

    def create_site(self, slug: str, name: str, *, origins: str = "",
                    keep_params: str = "", moderate_ideas: bool = False,
                    allow_anonymous: bool = False,
                    rank_anonymous: bool = False, comment_days: int = 0,
                    audit_days: int = 0, key_days: int = 0,
                    open_min: int = 0, open_round: int = 0,
                    wards: Sequence[str] = (), categories: Sequence[str] = (),
                    contacts: Sequence[str] = (),
                    actor: Optional[str] = None) -> Site:
        """Creates a site (and its ideas board). Raises AlreadyExists if the
        slug is taken. Retention and open-data settings of 0 take the
        library's defaults; -1 keeps forever. ``wards`` and ``categories``
        are the only values an idea may take (none: free text, scrubbed);
        ``contacts`` are the council's own published contact details, kept
        when what staff write is scrubbed."""
        s = L.th_site(0, _b(slug, "slug"), _b(name, "name"),
                      _b(origins, "origins"), _b(keep_params, "keep_params"),
                      int(moderate_ideas), int(allow_anonymous),
                      int(rank_anonymous), comment_days, audit_days, key_days,
                      open_min, open_round, 0, _lines(wards, "wards"),
                      _lines(categories, "categories"),
                      _lines(contacts, "contacts"))
        with self._lock:
            self._call(lib.th_site_create, _b(actor), byref(s), None)
            return self.get_site(slug)

    def update_site(self, slug: str, *, actor: Optional[str] = None,
                    **changes: Any) -> bool:
        """Changes some of a site's settings (the others stay as they are):
        ``update_site("camden", allow_anonymous=True)``. True if anything
        changed."""
        with self._lock:
            current = self.get_site(slug)
            fields = {k: getattr(current, k) for k in (
                "name", "origins", "keep_params", "moderate_ideas",
                "allow_anonymous", "rank_anonymous", "comment_days",
                "audit_days", "key_days", "open_min", "open_round",
                "wards", "categories", "contacts")}
            unknown = set(changes) - set(fields)
            if unknown:
                raise TypeError("update_site() got unknown settings: "
                                + ", ".join(sorted(unknown)))
            fields.update(changes)
            s = L.th_site(0, _b(slug, "slug"), _b(fields["name"], "name"),
                          _b(fields["origins"], "origins"),
                          _b(fields["keep_params"], "keep_params"),
                          int(fields["moderate_ideas"]),
                          int(fields["allow_anonymous"]),
                          int(fields["rank_anonymous"]),
                          fields["comment_days"], fields["audit_days"],
                          fields["key_days"], fields["open_min"],
                          fields["open_round"], 0,
                          _lines(fields["wards"], "wards"),
                          _lines(fields["categories"], "categories"),
                          _lines(fields["contacts"], "contacts"))
            return self._call(lib.th_site_update, _b(actor),
                              byref(s)) == RECORDED

    def get_site(self, slug: str) -> Site:
        """Raises NotFound."""
        out = POINTER(L.th_site)()
        self._call(lib.th_site_get, _b(slug, "slug"), byref(out))
        try:
            return _site(out.contents)
        finally:
            lib.th_site_free(out)

    def sites(self) -> List[Site]:
        """Every site, by slug."""
        out = POINTER(L.th_site_list)()
        self._call(lib.th_site_list_all, byref(out))
        try:
            return [_site(out.contents.items[i].contents)
                    for i in range(out.contents.count)]
        finally:
            lib.th_site_list_free(out)

    def set_site_secret(self, slug: str, secret: bytes) -> None:
        """Sets the secret (at least 32 bytes) with which the council's app
        signs resident JWTs (HS256) for this site. Raises TooShort."""
        if not isinstance(secret, (bytes, bytearray)):
            raise TypeError("secret must be bytes")
        self._call(lib.th_site_set_secret, _b(slug, "slug"), bytes(secret),
                   len(secret))

    def get_site_secret(self, slug: str) -> bytes:
        """The site's JWT secret. Raises NotFound if it has none."""
        buf = create_string_buffer(1024)
        n = c_size_t()
        try:
            self._call(lib.th_site_get_secret, _b(slug, "slug"), buf,
                       len(buf), byref(n))
            return buf.raw[:n.value]
        finally:
            # Wipe our copy; the bytes returned are the caller's to guard.
            memset(buf, 0, len(buf))

    # -- consultations --

    def create_consultation(self, site: str, slug: str, title: str, *,
                            description: Optional[str] = None,
                            ward: Optional[str] = None, opens: Time = None,
                            closes: Time = None,
                            actor: Optional[str] = None) -> Consultation:
        """A consultation with its own pseudonym key. opens None: now;
        closes None: never.

        Deprecated since 0.2.0: use create_consultation_as, which checks
        the staff member's role; this one checks none."""
        c = L.th_consultation(0, 0, _b(slug, "slug"), _b(title, "title"),
                              _b(description, "description"),
                              _b(ward, "ward"), from_datetime(opens),
                              from_datetime(closes), 0, 0)
        with self._lock:
            self._call(lib.th_consultation_create, _b(site, "site"),
                       _b(actor), byref(c), None)
            return self.get_consultation(site, slug)

    def create_consultation_as(self, staff: Optional[Staff], site: str,
                               slug: str, title: str, *,
                               description: Optional[str] = None,
                               ward: Optional[str] = None,
                               opens: Time = None,
                               closes: Time = None) -> Consultation:
        """create_consultation by a councillor or an admin, audited under
        the staff member's name. Raises NotPermitted for anyone else."""
        c = L.th_consultation(0, 0, _b(slug, "slug"), _b(title, "title"),
                              _b(description, "description"),
                              _b(ward, "ward"), from_datetime(opens),
                              from_datetime(closes), 0, 0)
        with self._lock:
            self._call(lib.th_consultation_create_as, _staff(staff),
                       _b(site, "site"), byref(c), None)
            return self.get_consultation(site, slug)

    def get_consultation(self, site: str, slug: str) -> Consultation:
        out = POINTER(L.th_consultation)()
        self._call(lib.th_consultation_get, _b(site, "site"),
                   _b(slug, "slug"), byref(out))
        try:
            return _consultation(out.contents)
        finally:
            lib.th_consultation_free(out)

    def consultations(self, site: str) -> List[Consultation]:
        """A site's consultations, newest first."""
        out = POINTER(L.th_consultation_list)()
        self._call(lib.th_consultation_list_all, _b(site, "site"),
                   byref(out))
        try:
            return [_consultation(out.contents.items[i].contents)
                    for i in range(out.contents.count)]
        finally:
            lib.th_consultation_list_free(out)

    # -- ideas --

    def submit_idea(self, site: str, who: WhoLike, title: str, *,
                    body: str = "", category: Optional[str] = None,
                    ward: Optional[str] = None,
                    consultation: Optional[str] = None) -> Submission:
        """Proposes an idea (on the site's ideas board unless a consultation
        slug is given). The body is stored with personal details scrubbed.
        Submission.duplicate is True (and id the earlier idea's) when the
        same author already proposed the same title."""
        n = L.th_idea_new(_b(consultation, "consultation"),
                          _b(title, "title"), _b(body, "body"),
                          _b(category, "category"), _b(ward, "ward"))
        out = c_int64()
        rc = self._call(lib.th_idea_submit, _b(site, "site"),
                        _who(who), byref(n), byref(out))
        return Submission(id=out.value, duplicate=rc == DUPLICATE)

    def _idea_out(self, fn: Any, *args: Any) -> Idea:
        out = POINTER(L.th_idea)()
        self._call(fn, *args, byref(out))
        try:
            return _idea(out.contents)
        finally:
            lib.th_idea_free(out)

    def get_idea(self, site: str, idea_id: int) -> Idea:
        """Any idea of the site, whatever its status. Raises NotFound.
        Unchecked: for a person, use get_idea_as."""
        return self._idea_out(lib.th_idea_get, _b(site, "site"), idea_id)

    def get_idea_as(self, staff: Optional[Staff], site: str,
                    idea_id: int) -> Idea:
        """An idea as ``staff`` may see it: any idea for a staff member of
        any role; for None, the public, only what get_public_idea shows
        (NotFound, in the words of a missing idea, for the rest)."""
        return self._idea_out(lib.th_idea_get_as, _staff(staff),
                              _b(site, "site"), idea_id)

    def get_public_idea(self, site: str, idea_id: int) -> Idea:
        """An idea as the public may see it: what to show residents. Raises
        NotFound, in the words of a missing idea, for one they may not see
        (pending, hidden, withdrawn, or merged away before it was public)."""
        out = POINTER(L.th_idea)()
        self._call(lib.th_idea_get_public, _b(site, "site"), idea_id,
                   byref(out))
        try:
            return _idea(out.contents)
        finally:
            lib.th_idea_free(out)

    def list_ideas(self, site: str, *, sort: Union[Sort, str] = Sort.TOP,
                   consultation: Optional[str] = None, seed: int = 0,
                   statuses: Optional[Iterable[Union[Status, str]]] = None,
                   ward: Optional[str] = None,
                   category: Optional[str] = None,
                   created_from: Time = None, created_to: Time = None,
                   limit: int = 20, cursor: Optional[str] = None) -> IdeaPage:
        """A page of ideas ranked by ``sort`` ("top", "hot", "new",
        "controversial", "random" with a seed). statuses None: those the
        public may see. Pass the page's next_cursor to get the next one.
        Unchecked (any statuses): for a person, use list_ideas_as."""
        return self._list_ideas(lib.th_idea_list, (), site, sort=sort,
                                consultation=consultation, seed=seed,
                                statuses=statuses, ward=ward,
                                category=category,
                                created_from=created_from,
                                created_to=created_to, limit=limit,
                                cursor=cursor)

    def list_ideas_as(self, staff: Optional[Staff], site: str,
                      **query: Any) -> IdeaPage:
        """list_ideas (the same query arguments) for ``staff``: statuses
        the public may not see are listed for a staff member of any role;
        for None, the public, asking for them raises NotPermitted."""
        return self._list_ideas(lib.th_idea_list_as, (_staff(staff),), site,
                                **query)

    def _list_ideas(self, fn: Any, pre: Tuple[Any, ...], site: str, *,
                    sort: Union[Sort, str] = Sort.TOP,
                    consultation: Optional[str] = None, seed: int = 0,
                    statuses: Optional[Iterable[Union[Status, str]]] = None,
                    ward: Optional[str] = None,
                    category: Optional[str] = None,
                    created_from: Time = None, created_to: Time = None,
                    limit: int = 20, cursor: Optional[str] = None) -> IdeaPage:
        mask = 0
        for st in statuses or ():
            mask |= 1 << _enum(st, Status, "status")
        q = L.th_idea_query(_b(consultation, "consultation"),
                            _enum(sort, Sort, "sort"), seed, mask,
                            _b(ward, "ward"), _b(category, "category"),
                            from_datetime(created_from),
                            from_datetime(created_to), limit,
                            _b(cursor, "cursor"))
        out = POINTER(L.th_idea_page)()
        self._call(fn, *pre, _b(site, "site"), byref(q), byref(out))
        try:
            page = out.contents
            return IdeaPage(
                items=[_idea(page.items[i]) for i in range(page.count)],
                next_cursor=_s(page.next_cursor) or None)
        finally:
            lib.th_idea_page_free(out)

    def iter_ideas(self, site: str, **query: Any) -> Iterator[Idea]:
        """Every idea matching the query (the arguments of list_ideas),
        following cursors page after page."""
        cursor = query.pop("cursor", None)
        while True:
            page = self.list_ideas(site, cursor=cursor, **query)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def set_idea_status(self, site: str, idea_id: int,
                        status: Union[Status, str], *,
                        response: Optional[str] = None,
                        actor: Optional[str] = None) -> bool:
        """A councillor sets a visible idea's status and, optionally, the
        council's response ("" clears it). True if anything changed.
        Deprecated since 0.2.0: use set_idea_status_as, which checks the
        staff member's role; this one checks none."""
        return self._call(lib.th_idea_set_status, _b(site, "site"),
                          _b(actor), idea_id, _enum(status, Status, "status"),
                          _b(response, "response")) == RECORDED

    def set_idea_status_as(self, staff: Optional[Staff], site: str,
                           idea_id: int, status: Union[Status, str], *,
                           response: Optional[str] = None) -> bool:
        """set_idea_status by a councillor or an admin, audited under the
        staff member's name. Raises NotPermitted for anyone else."""
        return self._call(lib.th_idea_set_status_as, _staff(staff),
                          _b(site, "site"), idea_id,
                          _enum(status, Status, "status"),
                          _b(response, "response")) == RECORDED

    def moderate_idea(self, site: str, idea_id: int,
                      action: Union[Moderation, str], *, reason: str,
                      into: int = 0, actor: Optional[str] = None) -> bool:
        """A moderator publishes, hides, rejects or merges (into another
        idea) an idea, with a reason for the audit log. True if anything
        changed. Deprecated since 0.2.0: use moderate_idea_as, which checks
        the staff member's role; this one checks none."""
        return self._call(lib.th_idea_moderate, _b(site, "site"), _b(actor),
                          idea_id, _enum(action, Moderation, "action"), into,
                          _b(reason, "reason")) == RECORDED

    def moderate_idea_as(self, staff: Optional[Staff], site: str,
                         idea_id: int, action: Union[Moderation, str], *,
                         reason: str, into: int = 0) -> bool:
        """moderate_idea by a moderator or an admin, audited under the
        staff member's name. Raises NotPermitted for anyone else."""
        return self._call(lib.th_idea_moderate_as, _staff(staff),
                          _b(site, "site"), idea_id,
                          _enum(action, Moderation, "action"), into,
                          _b(reason, "reason")) == RECORDED

    def withdraw_idea(self, site: str, who: WhoLike, idea_id: int) -> bool:
        """The author withdraws their idea. Raises NotPermitted for anyone
        else. True if it was not withdrawn already."""
        return self._call(lib.th_idea_withdraw, _b(site, "site"), _who(who),
                          idea_id) == RECORDED

    # -- votes --

    def vote(self, site: str, who: WhoLike, idea_id: int,
             value: int) -> Counts:
        """Votes +1, -1, or 0 (withdraws the vote). Returns the idea's
        counts after the vote; .changed is False if the vote was already
        that."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("a vote is 1, -1 or 0")
        c = L.th_counts()
        rc = self._call(lib.th_vote, _b(site, "site"), _who(who), idea_id,
                        value, byref(c))
        return Counts(c.up, c.down, c.anon_up, c.anon_down, c.my_vote,
                      changed=rc == RECORDED)

    def vote_history(self, site: str, idea_id: int) -> List[VoteDay]:
        """The totals at the end of each day on which anything changed.
        Unchecked: for a person, use vote_history_as."""
        return self._vote_history(lib.th_vote_history_get, (), site,
                                  idea_id)

    def vote_history_as(self, staff: Optional[Staff], site: str,
                        idea_id: int) -> List[VoteDay]:
        """vote_history of an idea ``staff`` may see (get_idea_as)."""
        return self._vote_history(lib.th_vote_history_get_as,
                                  (_staff(staff),), site, idea_id)

    def _vote_history(self, fn: Any, pre: Tuple[Any, ...], site: str,
                      idea_id: int) -> List[VoteDay]:
        out = POINTER(L.th_vote_history)()
        self._call(fn, *pre, _b(site, "site"), idea_id, byref(out))
        try:
            h = out.contents
            return [VoteDay(h.days[i].day, h.days[i].up, h.days[i].down)
                    for i in range(h.count)]
        finally:
            lib.th_vote_history_free(out)

    def my_votes(self, site: str, who: WhoLike,
                 idea_ids: Iterable[int]) -> Dict[int, int]:
        """Who's own vote on each idea: {id: 1, -1 or 0}. Reads only (0 for
        no vote, or an idea the site does not have)."""
        ids = [int(i) for i in idea_ids]
        arr = (c_int64 * len(ids))(*ids)
        out = (c_int * len(ids))()
        self._call(lib.th_vote_mine, _b(site, "site"), _who(who), arr,
                   len(ids), out)
        return {i: out[k] for k, i in enumerate(ids)}

    # -- page feedback --

    def answer_feedback(self, site: str, who: Optional[WhoLike], page: str,
                        *, useful: bool, rating: Optional[int] = None,
                        comment: Optional[str] = None,
                        key: Optional[str] = None) -> Answer:
        """Records one answer to "is this page useful?" (and a 1-5 rating, a
        comment) from a device: ``Who.device(ip, user_agent)`` (None for an
        importer). Every call is an answer of its own: two residents behind
        one address and browser are two answers, never one amending the
        other.

        ``key`` (1-255 printable ASCII characters, made by the caller for
        this one answer) folds retries: the same key, device and answer the
        same day returns ``Answer(recorded=False)`` with the first call's
        handle; the same key and device with a different answer raises
        Conflict; the same key from another device is another answer.

        ``Answer.handle`` amends this answer, and only it, until midnight
        UTC (amend_feedback)."""
        if not isinstance(useful, bool):
            raise TypeError("useful must be True or False")
        fb = L.th_feedback(_b(page, "page"), 1 if useful else 0,
                           0 if rating is None else rating,
                           _b(comment, "comment"))
        handle = create_string_buffer(L.HANDLE_SIZE)
        rc = self._call(lib.th_feedback_answer, _b(site, "site"), _who(who),
                        byref(fb), _b(key, "key"), handle)
        return Answer(recorded=rc == RECORDED,
                      handle=handle.value.decode("ascii"))

    def amend_feedback(self, site: str, handle: str, *,
                       useful: Optional[bool] = None,
                       rating: Optional[int] = None,
                       comment: Optional[str] = None,
                       page: Optional[str] = None) -> bool:
        """Changes the answer ``handle`` names (from answer_feedback), the
        same day (UTC): each of useful, rating (1-5) and comment that is
        given replaces the answer's, and the page's counters move exactly;
        None (and a comment of white space only) keeps it. A rating or a
        comment cannot be taken back. ``page``, when given, must be the
        answer's page. True if anything changed. Raises NotFound for a
        handle that is malformed, unknown, of another site or page, or of
        an earlier day (one error for all)."""
        if not isinstance(handle, str):
            raise TypeError("handle must be str")
        if useful is not None and not isinstance(useful, bool):
            raise TypeError("useful must be True, False or None (unchanged)")
        fb = L.th_feedback(_b(page, "page"),
                           -1 if useful is None else (1 if useful else 0),
                           0 if rating is None else rating,
                           _b(comment, "comment"))
        return self._call(lib.th_feedback_amend, _b(site, "site"),
                          _b(handle, "handle"), byref(fb)) == RECORDED

    def record_feedback(self, site: str, who: WhoLike, page: str, *,
                        useful: bool, rating: Optional[int] = None,
                        comment: Optional[str] = None) -> bool:
        """Deprecated since 0.2.0: use answer_feedback, which returns the
        handle that amends the answer. This is answer_feedback without a
        key and without the handle: every call records a new answer (a
        second answer from the same device no longer amends the first), so
        it always returns True."""
        fb = L.th_feedback(_b(page, "page"), 1 if useful else 0,
                           0 if rating is None else rating,
                           _b(comment, "comment"))
        return self._call(lib.th_feedback_record, _b(site, "site"),
                          _who(who), byref(fb)) == RECORDED

    def feedback_summary(self, site: str, page: str, *,
                         public: bool = False) -> PageSummary:
        """A page's exact counters (for staff), or with ``public=True`` what
        anyone may be shown (the site's disclosure rules, as in open data):
        complete ISO weeks only, counts under the site's open_min withheld
        and the others rounded to open_round, and every figure that is
        withheld None. Raises NotFound if the page has no feedback (public:
        none before this week). Unchecked: for a person, use
        feedback_summary_as."""
        fn = lib.th_feedback_summary_public if public else \
            lib.th_feedback_summary
        return self._summary_out(fn, _b(site, "site"), _b(page, "page"))

    def feedback_summary_as(self, staff: Optional[Staff], site: str,
                            page: str) -> PageSummary:
        """A page's figures as ``staff`` may see them: the exact counters
        for a staff member of any role; for None, the public, the
        published figures (feedback_summary with public=True)."""
        return self._summary_out(lib.th_feedback_summary_as, _staff(staff),
                                 _b(site, "site"), _b(page, "page"))

    def _summary_out(self, fn: Any, *args: Any) -> PageSummary:
        out = POINTER(L.th_page_summary)()
        self._call(fn, *args, byref(out))
        try:
            return _summary(out.contents)
        finally:
            lib.th_page_summary_free(out)

    def feedback_pages(self, site: str, *, limit: int = 20,
                       cursor: Optional[str] = None) -> PageList:
        """A site's pages, worst first. Unchecked: for a person, use
        feedback_pages_as."""
        return self._pages(lib.th_feedback_pages, (), site, limit, cursor)

    def feedback_pages_as(self, staff: Optional[Staff], site: str, *,
                          limit: int = 20,
                          cursor: Optional[str] = None) -> PageList:
        """feedback_pages for a staff member of any role: NotPermitted for
        None, the public."""
        return self._pages(lib.th_feedback_pages_as, (_staff(staff),), site,
                           limit, cursor)

    def _pages(self, fn: Any, pre: Tuple[Any, ...], site: str, limit: int,
               cursor: Optional[str]) -> PageList:
        out = POINTER(L.th_page_list)()
        self._call(fn, *pre, _b(site, "site"), limit, _b(cursor, "cursor"),
                   byref(out))
        try:
            lst = out.contents
            return PageList(
                items=[_summary(lst.items[i]) for i in range(lst.count)],
                next_cursor=_s(lst.next_cursor) or None)
        finally:
            lib.th_page_list_free(out)

    def feedback_comments(self, site: str, page: str, *,
                          limit: int = 50) -> List[Comment]:
        """The newest comments on a page. Unchecked: for a person, use
        feedback_comments_as."""
        return self._comments(lib.th_feedback_comments, (), site, page,
                              limit)

    def feedback_comments_as(self, staff: Optional[Staff], site: str,
                             page: str, *, limit: int = 50) -> List[Comment]:
        """feedback_comments for a staff member of any role: NotPermitted
        for None, the public."""
        return self._comments(lib.th_feedback_comments_as, (_staff(staff),),
                              site, page, limit)

    def _comments(self, fn: Any, pre: Tuple[Any, ...], site: str, page: str,
                  limit: int) -> List[Comment]:
        out = POINTER(L.th_comment_list)()
        self._call(fn, *pre, _b(site, "site"), _b(page, "page"), limit,
                   byref(out))
        try:
            lst = out.contents
            return [Comment(lst.items[i].day, bool(lst.items[i].useful),
                            lst.items[i].rating, _s(lst.items[i].text))
                    for i in range(lst.count)]
        finally:
            lib.th_comment_list_free(out)

    # -- open data --

    def _open_data(self, fn: Any, site: str, start: Union[str, _dt.date, None],
                   weeks: int) -> bytes:
        opt = L.th_open_data_options()  # its size set (_Sized)
        if isinstance(start, _dt.datetime):
            start = start.date()
        if isinstance(start, _dt.date):
            start = start.isoformat()
        opt.from_ = _b(start, "start")
        opt.weeks = weeks
        out, n = c_void_p(), c_size_t()
        self._call(fn, _b(site, "site"), byref(opt), byref(out), byref(n))
        try:
            return string_at(out.value, n.value)
        finally:
            lib.th_free(out)

    def open_data_feedback(self, site: str, *,
                           start: Union[str, _dt.date, None] = None,
                           weeks: int = 0) -> bytes:
        """feedback.csv, exactly the bytes the server publishes at
        /v1/sites/{site}/open/feedback.csv: page feedback per page and ISO
        week under the site's disclosure rules, complete weeks only.
        ``start``: a day ("2026-01-05" or a date) whose week is the first
        (the server's ``?from=``); ``weeks``: how many, 1 to 104 (0: 52
        before the week in progress, or every complete week from
        ``start``, at most 104). Raises NotFound for an unknown site,
        InvalidArgument for a start that is not a date, OutOfRange for
        weeks."""
        return self._open_data(lib.th_open_data_feedback, site, start, weeks)

    def open_data_ideas(self, site: str) -> bytes:
        """ideas.csv, exactly the bytes the server publishes at
        /v1/sites/{site}/open/ideas.csv: the public ideas created before the
        week in progress, their votes as they stood at the end of the last
        complete week (under the site's disclosure rules) and the council's
        responses."""
        return self._open_data(lib.th_open_data_ideas, site, None, 0)

    # -- residents' rights --

    def export_resident(self, site: str, resident: str) -> Dict[str, Any]:
        """Everything held about a resident on a site (UK GDPR art. 15)."""
        out = c_void_p()
        self._call(lib.th_resident_export, _b(site, "site"),
                   _b(resident, "resident"), byref(out))
        return json.loads(_take_string(out))

    def erase_resident(self, site: str, resident: str) -> int:
        """Erases a resident (UK GDPR art. 17): their votes are withdrawn
        and their ideas detached from them. Returns the number of votes and
        ideas affected (0 if nothing was held)."""
        n = c_int64()
        self._call(lib.th_resident_erase, _b(site, "site"),
                   _b(resident, "resident"), byref(n))
        return n.value

    # -- retention, audit --

    def purge(self) -> PurgeReport:
        """Applies every site's retention settings now."""
        r = L.th_purge_report()
        self._call(lib.th_purge, byref(r))
        return PurgeReport(r.comments, r.audit, r.keys, r.dedup_tokens,
                           r.salts)

    def rotate_key(self, new_key_file: Union[str, os.PathLike], *,
                   backup: Union[str, os.PathLike, None] = None,
                   actor: Optional[str] = None) -> KeyRotation:
        """Re-seals every site secret and consultation key under a new key
        file, created at `new_key_file`, and revokes every staff token
        (docs/operations.md, "Rotating the key file"). Only while nothing
        else has the database open (a running server included): raises Busy
        otherwise. `backup`: a copy of the database as it was, taken first.
        Nothing changes if it raises. This handle uses the new key
        afterwards; install the new key file before opening it again."""
        r = L.th_key_rotation()
        self._call(lib.th_key_rotate, _b(actor), os.fsencode(new_key_file),
                   None if backup is None else os.fsencode(backup), byref(r))
        return KeyRotation(r.site_secrets, r.consultation_keys,
                           r.tokens_revoked)

    def audit_log(self, site: str, *, before_id: int = 0,
                  limit: int = 100) -> List[AuditEntry]:
        """The newest audit entries of a site (older than before_id).
        Unchecked: for a person, use audit_log_as."""
        return self._audit(lib.th_audit_list_get, (), site, before_id, limit)

    def audit_log_as(self, staff: Optional[Staff], site: str, *,
                     before_id: int = 0,
                     limit: int = 100) -> List[AuditEntry]:
        """audit_log for an admin: NotPermitted for anyone else."""
        return self._audit(lib.th_audit_list_get_as, (_staff(staff),), site,
                           before_id, limit)

    def _audit(self, fn: Any, pre: Tuple[Any, ...], site: str,
               before_id: int, limit: int) -> List[AuditEntry]:
        out = POINTER(L.th_audit_list)()
        self._call(fn, *pre, _b(site, "site"), before_id, limit, byref(out))
        try:
            lst = out.contents
            return [AuditEntry(e.id, e.at, _s(e.actor), _s(e.action),
                               e.idea_id, _s(e.detail))
                    for e in (lst.items[i] for i in range(lst.count))]
        finally:
            lib.th_audit_list_free(out)

    # -- staff tokens --

    def create_token(self, role: Union[Role, str], label: str, *,
                     site: Optional[str] = None, expires: Time = None,
                     actor: Optional[str] = None) -> NewToken:
        """A staff API token for one site (or every site). The token is
        returned once and only its hash is kept."""
        tok = c_void_p()
        tid = c_int64()
        self._call(lib.th_token_create, _b(actor), _b(site, "site"),
                   _enum(role, Role, "role"), _b(label, "label"),
                   from_datetime(expires), byref(tok), byref(tid))
        return NewToken(id=tid.value, token=_take_string(tok))

    def resident_token(self, site: str, resident: str,
                       ttl: int = 3600) -> str:
        """A resident token (JWT, HS256 with the site's secret, `ttl`
        seconds, at most an hour) as the council's own login would hand its
        pages after signing `resident` in."""
        tok = c_void_p()
        self._call(lib.th_resident_token, _b(site, "site"),
                   _b(resident, "resident"), int(ttl), byref(tok))
        return _take_string(tok)

    def revoke_token(self, token_id: int, *,
                     actor: Optional[str] = None) -> bool:
        """True if it was not revoked already. Raises NotFound."""
        return self._call(lib.th_token_revoke, _b(actor),
                          token_id) == RECORDED

    def check_token(self, token: str,
                    site: Optional[str] = None) -> TokenInfo:
        """Checks a presented token (for a site, or any). Raises
        AuthenticationFailed, or NotPermitted if it is for another site."""
        out = POINTER(L.th_token_info)()
        self._call(lib.th_token_check, _b(token, "token"), _b(site, "site"),
                   byref(out))
        try:
            return _token_info(out.contents)
        finally:
            lib.th_token_info_free(out)

    def staff_from_token(self, token: str,
                         site: Optional[str] = None) -> Staff:
        """The staff member a token proves, for the ``*_as`` methods: the
        only way to get a Staff. Raises AuthenticationFailed (malformed,
        unknown, wrong, revoked or expired: one message for all), or
        NotPermitted if it is for another site than ``site``."""
        out = c_void_p()
        self._call(lib.th_staff_from_token, _b(token, "token"),
                   _b(site, "site"), byref(out))
        return Staff._take(out)

    def tokens(self) -> List[TokenInfo]:
        """Every token, newest first (never the secrets)."""
        out = POINTER(L.th_token_list)()
        self._call(lib.th_token_list_all, byref(out))
        try:
            return [_token_info(out.contents.items[i])
                    for i in range(out.contents.count)]
        finally:
            lib.th_token_list_free(out)
