"""townhall: resident co-production (ideas, votes, page feedback) for Python.

A thin, typed layer over the C library libtownhall, with ctypes and the
standard library only. The library is found through $TOWNHALL_LIBRARY (a
path), then the system's library path.

    from townhall import Townhall, Who

    with Townhall("council.db") as th:
        th.create_site("camden", "Camden Council")
        idea = th.submit_idea("camden", "resident-42", "More benches, please")
        th.vote("camden", "resident-7", idea.id, +1)
        answer = th.answer_feedback("camden",
                                    Who.device("203.0.113.9", "Firefox"),
                                    "https://www.camden.gov.uk/bins",
                                    useful=False)
        th.amend_feedback("camden", answer.handle, rating=2)
        print(th.feedback_summary("camden", "https://www.camden.gov.uk/bins"))
"""
from __future__ import annotations

from ctypes import byref, c_void_p
from typing import Optional, Union

from ._lib import LibraryNotFoundError, lib
from .db import Staff, Townhall, _b, _s, _take_string
from .errors import *  # noqa: F401,F403 (the exception classes)
from .errors import ERRORS, TownhallError, error_for
from .types import *  # noqa: F401,F403 (the result types)

__version__ = "0.2.0"


def version() -> str:
    """The version of the library actually loaded ("0.2.0")."""
    return _s(lib.th_version_string())


def library_path() -> str:
    """Where the library loaded was found."""
    return lib.path


def strerror(code: int) -> str:
    """The one-line description of a code ("not found")."""
    return _s(lib.th_strerror(code))


def error_name(code: int) -> str:
    """The C name of a code ("TH_ENOTFOUND")."""
    return _s(lib.th_err_name(code))


def _check(rc: int) -> None:
    if rc < 0:
        raise error_for(rc, strerror(rc))


def redact(text: str) -> str:
    """Replaces personal details (e-mail addresses, UK phone, NI, NHS and
    card numbers, postcodes' inward codes) with placeholders, as townhall
    does before storing free text."""
    out = c_void_p()
    _check(lib.th_redact(_b(text), byref(out)))
    return _take_string(out)


def normalize_url(url: str, keep_params: Optional[str] = None) -> str:
    """A page URL as townhall stores it (query string dropped except the
    parameters named in keep_params, fragment dropped, ...)."""
    out = c_void_p()
    _check(lib.th_url_normalize(_b(url, "url"), _b(keep_params), byref(out)))
    return _take_string(out)


def check_utf8(text: Union[str, bytes]) -> None:
    """Raises InvalidUTF8 unless text is valid UTF-8 as townhall sees it."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) \
        else bytes(text)
    _check(lib.th_utf8_check(data, len(data)))


__all__ = ["Townhall", "Staff", "LibraryNotFoundError", "TownhallError", "ERRORS",
           "version", "library_path", "strerror", "error_name", "redact",
           "normalize_url", "check_utf8"]
from . import errors as _errors, types as _types  # noqa: E402

__all__ += [n for n in _errors.__all__ if n not in __all__]
__all__ += _types.__all__
