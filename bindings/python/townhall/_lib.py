"""Loading libtownhall and declaring its C interface for ctypes.

Every function used is declared here with its argtypes and restype: ctypes'
default return type is a C int, which would silently truncate a pointer on
64-bit machines. The structures mirror core/townhall.h field by field; keep
them in the same order when the header changes. Those that start with their
size derive from _Sized, which sets it.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char, c_char_p, c_double,
                    c_int, c_int64, c_size_t, c_uint, c_uint64, c_void_p)
from typing import List, Optional

# The version of the C API this package was written against. The library
# loaded must have the same major version (0.x: the same minor too).
API_MAJOR = 0
API_MINOR = 2
# The soname's number (libtownhall.so.1): libtool's current - age in
# Makefile.am, which changes only when the ABI breaks, not with releases.
SONAME_MAJOR = 1

ENV_VAR = "TOWNHALL_LIBRARY"


class LibraryNotFoundError(OSError):
    """libtownhall could not be loaded. The message lists what was tried."""


def _candidates() -> List[str]:
    names: List[str] = []
    found = ctypes.util.find_library("townhall")
    if found:
        names.append(found)
    if sys.platform == "darwin":
        names += [f"libtownhall.{SONAME_MAJOR}.dylib", "libtownhall.dylib"]
    else:
        names += [f"libtownhall.so.{SONAME_MAJOR}", "libtownhall.so"]
    seen = set()
    return [n for n in names if not (n in seen or seen.add(n))]


def _load() -> ctypes.CDLL:
    tried: List[str] = []
    path = os.environ.get(ENV_VAR)
    if path:
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            # A library named explicitly is never silently replaced by
            # another one found on the system.
            raise LibraryNotFoundError(
                f"cannot load libtownhall from {ENV_VAR}={path}: {e}") from None
    tried.append(f"{ENV_VAR} (not set)")
    found = ctypes.util.find_library("townhall")
    tried.append("ctypes.util.find_library('townhall') -> "
                 + (repr(found) if found else "nothing"))
    for name in _candidates():
        try:
            return ctypes.CDLL(name)
        except OSError as e:
            tried.append(f"CDLL({name!r}): {e}")
    raise LibraryNotFoundError(
        "cannot find libtownhall. Install it (make install; then ldconfig) "
        f"or set {ENV_VAR} to the path of libtownhall.so. Tried:\n  "
        + "\n  ".join(tried))


# ---------------------------------------------------------------------------
# Structures (core/townhall.h)

th_time = c_int64
NOW_FUNC = CFUNCTYPE(c_int64, c_void_p)


class _Sized(Structure):
    """A struct whose first member is its size (townhall.h, "Structs that
    grow"): made with size set to this mirror's sizeof, as the C header's
    TH_*_INIT macros do, so the library reads exactly the members mirrored
    here, whichever newer library is loaded."""

    def __init__(self, *args, **kwargs) -> None:
        # Positional arguments are the members after size, in order.
        names = [f[0] for f in self._fields_[1:]]
        super().__init__(**dict(zip(names, args)), **kwargs)
        self.size = ctypes.sizeof(self)


class th_open_options(_Sized):
    _fields_ = [("size", c_size_t), ("key_file", c_char_p), ("flags", c_int),
                ("busy_timeout_ms", c_int), ("synchronous", c_int),
                ("persist_salts", c_int), ("now", NOW_FUNC),
                ("clock_data", c_void_p)]


class th_who(Structure):
    _fields_ = [("resident", c_char_p), ("ip", c_char_p),
                ("user_agent", c_char_p)]


class th_site(_Sized):
    _fields_ = [("size", c_size_t), ("id", c_int64), ("slug", c_char_p),
                ("name", c_char_p),
                ("origins", c_char_p), ("keep_params", c_char_p),
                ("moderate_ideas", c_int), ("allow_anonymous", c_int),
                ("rank_anonymous", c_int), ("comment_days", c_int),
                ("audit_days", c_int), ("key_days", c_int),
                ("open_min", c_int), ("open_round", c_int),
                ("created", th_time),
                # 0.2.0: one item per line
                ("wards", c_char_p), ("categories", c_char_p),
                ("contacts", c_char_p)]


class th_site_list(Structure):
    # Pointers: the stride never depends on th_site's size.
    _fields_ = [("count", c_size_t), ("items", POINTER(POINTER(th_site)))]


class th_consultation(_Sized):
    _fields_ = [("size", c_size_t), ("id", c_int64), ("site_id", c_int64),
                ("slug", c_char_p),
                ("title", c_char_p), ("description", c_char_p),
                ("ward", c_char_p), ("opens", th_time), ("closes", th_time),
                ("key_destroyed", c_int), ("created", th_time)]


class th_consultation_list(Structure):
    # Pointers: the stride never depends on th_consultation's size.
    _fields_ = [("count", c_size_t),
                ("items", POINTER(POINTER(th_consultation)))]


class th_idea_new(_Sized):
    _fields_ = [("size", c_size_t), ("consultation", c_char_p),
                ("title", c_char_p), ("body", c_char_p),
                ("category", c_char_p), ("ward", c_char_p)]


class th_idea(Structure):
    _fields_ = [("id", c_int64), ("consultation_id", c_int64),
                ("consultation", c_char_p), ("title", c_char_p),
                ("body", c_char_p), ("category", c_char_p),
                ("ward", c_char_p), ("status", c_int),
                ("merged_into", c_int64), ("response", c_char_p),
                ("response_at", th_time), ("up", c_int64), ("down", c_int64),
                ("anon_up", c_int64), ("anon_down", c_int64),
                ("top", c_double), ("hot", c_double),
                ("controversial", c_double), ("created", th_time),
                ("updated", th_time), ("merged_from", c_int)]


class th_idea_query(_Sized):
    _fields_ = [("size", c_size_t), ("consultation", c_char_p),
                ("sort", c_int), ("seed", c_uint64), ("statuses", c_uint),
                ("ward", c_char_p),
                ("category", c_char_p), ("created_from", th_time),
                ("created_to", th_time), ("limit", c_int),
                ("cursor", c_char_p)]


class th_idea_page(Structure):
    _fields_ = [("count", c_size_t), ("items", POINTER(th_idea)),
                ("next_cursor", c_char_p)]


class th_counts(Structure):
    _fields_ = [("up", c_int64), ("down", c_int64), ("anon_up", c_int64),
                ("anon_down", c_int64), ("my_vote", c_int)]


class th_vote_day(Structure):
    _fields_ = [("day", th_time), ("up", c_int64), ("down", c_int64)]


class th_vote_history(Structure):
    _fields_ = [("count", c_size_t), ("days", POINTER(th_vote_day))]


class th_feedback(_Sized):
    _fields_ = [("size", c_size_t), ("page", c_char_p), ("useful", c_int),
                ("rating", c_int), ("comment", c_char_p)]


# An answer handle: 22 base64url characters and a NUL (TH_HANDLE_SIZE).
HANDLE_SIZE = 24

# A figure the public may not see (TH_WITHHELD): -1 for a count, any
# negative value for rating_mean and useful_lower.
WITHHELD = -1


class th_page_summary(Structure):
    _fields_ = [("page", c_char_p), ("yes", c_int64), ("no", c_int64),
                ("responses", c_int64),
                ("ratings", c_int64 * 5), ("rating_count", c_int64),
                ("rating_mean", c_double), ("useful_lower", c_double),
                ("comments", c_int64), ("first", th_time), ("last", th_time),
                ("exact", c_int)]


class th_page_list(Structure):
    _fields_ = [("count", c_size_t), ("items", POINTER(th_page_summary)),
                ("next_cursor", c_char_p)]


class th_comment(Structure):
    _fields_ = [("day", th_time), ("useful", c_int), ("rating", c_int),
                ("text", c_char_p)]


class th_comment_list(Structure):
    _fields_ = [("count", c_size_t), ("items", POINTER(th_comment))]


class th_purge_report(_Sized):
    _fields_ = [("size", c_size_t), ("comments", c_int64),
                ("audit", c_int64), ("keys", c_int64),
                ("dedup_tokens", c_int64), ("salts", c_int64)]


class th_key_rotation(_Sized):
    _fields_ = [("size", c_size_t), ("site_secrets", c_int64),
                ("consultation_keys", c_int64), ("tokens_revoked", c_int64)]


class th_audit_entry(Structure):
    _fields_ = [("id", c_int64), ("at", th_time), ("actor", c_char_p),
                ("action", c_char_p), ("idea_id", c_int64),
                ("detail", c_char_p)]


class th_audit_list(Structure):
    _fields_ = [("count", c_size_t), ("items", POINTER(th_audit_entry))]


class th_open_data_options(_Sized):
    # Carries its size: the library reads only the fields of a struct this
    # size and takes the rest at their defaults, so this mirror may lag
    # behind a newer header without harm.
    _fields_ = [("size", c_size_t), ("from_", c_char_p), ("weeks", c_int64)]


class th_token_info(Structure):
    _fields_ = [("id", c_int64), ("site", c_char_p), ("role", c_int),
                ("label", c_char_p), ("created", th_time),
                ("expires", th_time), ("revoked", c_int)]


class th_token_list(Structure):
    _fields_ = [("count", c_size_t), ("items", POINTER(th_token_info))]


# ---------------------------------------------------------------------------
# Functions

DB = c_void_p  # th_db *
STAFF = c_void_p  # const th_staff *
P = POINTER
OUT_STR = P(c_void_p)  # char **: kept as a raw pointer so it can be freed

# name: (restype, argtypes). restype "rc" is an int result code, checked by
# the Townhall methods (which know the handle to ask for th_errmsg).
PROTOTYPES = {
    "th_version": (c_uint, []),
    "th_version_string": (c_char_p, []),
    "th_strerror": (c_char_p, [c_int]),
    "th_err_name": (c_char_p, [c_int]),
    "th_free": (None, [c_void_p]),
    "th_open": (c_int, [P(DB), c_char_p, P(th_open_options)]),
    "th_close": (c_int, [DB]),
    "th_errmsg": (c_char_p, [DB]),
    "th_errcode": (c_int, [DB]),
    "th_schema_version": (c_int, [DB]),
    "th_schema_latest": (c_int, []),
    "th_now": (th_time, [DB]),
    "th_backup": (c_int, [DB, c_char_p]),
    "th_batch_begin": (c_int, [DB]),
    "th_batch_commit": (c_int, [DB]),
    "th_batch_rollback": (c_int, [DB]),
    "th_site_create": (c_int, [DB, c_char_p, P(th_site), P(c_int64)]),
    "th_site_update": (c_int, [DB, c_char_p, P(th_site)]),
    "th_site_get": (c_int, [DB, c_char_p, P(P(th_site))]),
    "th_site_free": (None, [P(th_site)]),
    "th_site_list_all": (c_int, [DB, P(P(th_site_list))]),
    "th_site_list_free": (None, [P(th_site_list)]),
    "th_site_set_secret": (c_int, [DB, c_char_p, c_char_p, c_size_t]),
    "th_site_get_secret": (c_int, [DB, c_char_p, c_void_p, c_size_t,
                                   P(c_size_t)]),
    "th_consultation_create": (c_int, [DB, c_char_p, c_char_p,
                                       P(th_consultation), P(c_int64)]),
    "th_consultation_get": (c_int, [DB, c_char_p, c_char_p,
                                    P(P(th_consultation))]),
    "th_consultation_free": (None, [P(th_consultation)]),
    "th_consultation_list_all": (c_int, [DB, c_char_p,
                                         P(P(th_consultation_list))]),
    "th_consultation_list_free": (None, [P(th_consultation_list)]),
    "th_status_name": (c_char_p, [c_int]),
    "th_status_parse": (c_int, [c_char_p]),
    "th_idea_submit": (c_int, [DB, c_char_p, P(th_who), P(th_idea_new),
                               P(c_int64)]),
    "th_idea_get": (c_int, [DB, c_char_p, c_int64, P(P(th_idea))]),
    "th_idea_get_public": (c_int, [DB, c_char_p, c_int64, P(P(th_idea))]),
    "th_idea_is_public": (c_int, [P(th_idea)]),
    "th_idea_free": (None, [P(th_idea)]),
    "th_sort_name": (c_char_p, [c_int]),
    "th_sort_parse": (c_int, [c_char_p]),
    "th_idea_list": (c_int, [DB, c_char_p, P(th_idea_query),
                             P(P(th_idea_page))]),
    "th_idea_page_free": (None, [P(th_idea_page)]),
    "th_idea_set_status": (c_int, [DB, c_char_p, c_char_p, c_int64, c_int,
                                   c_char_p]),
    "th_moderation_name": (c_char_p, [c_int]),
    "th_moderation_parse": (c_int, [c_char_p]),
    "th_idea_moderate": (c_int, [DB, c_char_p, c_char_p, c_int64, c_int,
                                 c_int64, c_char_p]),
    "th_idea_withdraw": (c_int, [DB, c_char_p, P(th_who), c_int64]),
    "th_vote": (c_int, [DB, c_char_p, P(th_who), c_int64, c_int,
                        P(th_counts)]),
    "th_vote_history_get": (c_int, [DB, c_char_p, c_int64,
                                    P(P(th_vote_history))]),
    "th_vote_history_free": (None, [P(th_vote_history)]),
    "th_vote_mine": (c_int, [DB, c_char_p, P(th_who), P(c_int64), c_size_t,
                             P(c_int)]),
    "th_resident_token": (c_int, [DB, c_char_p, c_char_p, c_int,
                                  P(c_void_p)]),
    # handle_out: a writable buffer of HANDLE_SIZE bytes, or None.
    "th_feedback_answer": (c_int, [DB, c_char_p, P(th_who), P(th_feedback),
                                   c_char_p, P(c_char)]),
    "th_feedback_amend": (c_int, [DB, c_char_p, c_char_p, P(th_feedback)]),
    "th_feedback_record": (c_int, [DB, c_char_p, P(th_who), P(th_feedback)]),
    "th_feedback_summary": (c_int, [DB, c_char_p, c_char_p,
                                    P(P(th_page_summary))]),
    "th_feedback_summary_public": (c_int, [DB, c_char_p, c_char_p,
                                           P(P(th_page_summary))]),
    "th_page_summary_free": (None, [P(th_page_summary)]),
    "th_feedback_pages": (c_int, [DB, c_char_p, c_int, c_char_p,
                                  P(P(th_page_list))]),
    "th_page_list_free": (None, [P(th_page_list)]),
    "th_feedback_comments": (c_int, [DB, c_char_p, c_char_p, c_int,
                                     P(P(th_comment_list))]),
    "th_comment_list_free": (None, [P(th_comment_list)]),
    # Declared, never called: init would write the library's own size,
    # which a newer library may have grown past this mirror; the binding
    # sets the size of the struct it knows instead.
    "th_open_data_options_init": (None, [P(th_open_data_options)]),
    "th_open_data_feedback": (c_int, [DB, c_char_p, P(th_open_data_options),
                                      OUT_STR, P(c_size_t)]),
    "th_open_data_ideas": (c_int, [DB, c_char_p, P(th_open_data_options),
                                   OUT_STR, P(c_size_t)]),
    "th_resident_export": (c_int, [DB, c_char_p, c_char_p, OUT_STR]),
    "th_resident_erase": (c_int, [DB, c_char_p, c_char_p, P(c_int64)]),
    "th_purge": (c_int, [DB, P(th_purge_report)]),
    "th_key_rotate": (c_int, [DB, c_char_p, c_char_p, c_char_p,
                              P(th_key_rotation)]),
    "th_audit_list_get": (c_int, [DB, c_char_p, c_int64, c_int,
                                  P(P(th_audit_list))]),
    "th_audit_list_free": (None, [P(th_audit_list)]),
    "th_role_name": (c_char_p, [c_int]),
    "th_role_parse": (c_int, [c_char_p]),
    "th_token_create": (c_int, [DB, c_char_p, c_char_p, c_int, c_char_p,
                                th_time, OUT_STR, P(c_int64)]),
    "th_token_revoke": (c_int, [DB, c_char_p, c_int64]),
    "th_token_check": (c_int, [DB, c_char_p, c_char_p,
                               P(P(th_token_info))]),
    "th_token_info_free": (None, [P(th_token_info)]),
    "th_token_list_all": (c_int, [DB, P(P(th_token_list))]),
    # A th_staff *: opaque, made only by th_staff_from_token.
    "th_staff_from_token": (c_int, [DB, c_char_p, c_char_p, P(STAFF)]),
    "th_staff_free": (None, [STAFF]),
    "th_staff_role": (c_int, [STAFF]),
    "th_staff_token_id": (c_int64, [STAFF]),
    "th_staff_label": (c_char_p, [STAFF]),
    "th_staff_site": (c_char_p, [STAFF]),
    "th_staff_actor": (c_char_p, [STAFF]),
    "th_idea_get_as": (c_int, [DB, STAFF, c_char_p, c_int64,
                               P(P(th_idea))]),
    "th_idea_list_as": (c_int, [DB, STAFF, c_char_p, P(th_idea_query),
                                P(P(th_idea_page))]),
    "th_vote_history_get_as": (c_int, [DB, STAFF, c_char_p, c_int64,
                                       P(P(th_vote_history))]),
    "th_idea_set_status_as": (c_int, [DB, STAFF, c_char_p, c_int64, c_int,
                                      c_char_p]),
    "th_idea_moderate_as": (c_int, [DB, STAFF, c_char_p, c_int64, c_int,
                                    c_int64, c_char_p]),
    "th_consultation_create_as": (c_int, [DB, STAFF, c_char_p,
                                          P(th_consultation), P(c_int64)]),
    "th_feedback_summary_as": (c_int, [DB, STAFF, c_char_p, c_char_p,
                                       P(P(th_page_summary))]),
    "th_feedback_pages_as": (c_int, [DB, STAFF, c_char_p, c_int, c_char_p,
                                     P(P(th_page_list))]),
    "th_feedback_comments_as": (c_int, [DB, STAFF, c_char_p, c_char_p,
                                        c_int, P(P(th_comment_list))]),
    "th_audit_list_get_as": (c_int, [DB, STAFF, c_char_p, c_int64, c_int,
                                     P(P(th_audit_list))]),
    "th_token_list_free": (None, [P(th_token_list)]),
    "th_redact": (c_int, [c_char_p, OUT_STR]),
    "th_url_normalize": (c_int, [c_char_p, c_char_p, OUT_STR]),
    "th_utf8_check": (c_int, [c_char_p, c_size_t]),
}


class _Lib:
    """The loaded library, with every prototype declared. Loaded on first
    use, so that importing the package never fails."""

    def __init__(self) -> None:
        self._dll: Optional[ctypes.CDLL] = None

    def __getattr__(self, name: str):
        if self._dll is None:
            self._dll = _declare(_load())
        return getattr(self._dll, name)

    @property
    def path(self) -> str:
        if self._dll is None:
            self._dll = _declare(_load())
        return self._dll._name


def _declare(dll: ctypes.CDLL) -> ctypes.CDLL:
    for name, (restype, argtypes) in PROTOTYPES.items():
        try:
            fn = getattr(dll, name)
        except AttributeError:
            raise LibraryNotFoundError(
                f"{dll._name} is not a compatible libtownhall: it has no "
                f"{name}") from None
        fn.restype = restype
        fn.argtypes = argtypes
    v = dll.th_version()
    major, minor = v >> 16, (v >> 8) & 0xFF
    if major != API_MAJOR or (major == 0 and minor != API_MINOR):
        raise LibraryNotFoundError(
            f"{dll._name} is libtownhall {major}.{minor}.{v & 0xFF}; this "
            f"package needs {API_MAJOR}.{API_MINOR}.x")
    return dll


lib = _Lib()
