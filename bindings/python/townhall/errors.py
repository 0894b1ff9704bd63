"""Exceptions, one class per TH_E... code of core/townhall.h.

Every exception raised for a library failure is a TownhallError carrying
.code (the negative C code), .name ("TH_ENOTFOUND") and .message (the
library's detailed message, from th_errmsg). Some also derive from the
built-in exception a Python programmer would reach for (ValueError for bad
input, LookupError for something missing), so that generic code catching
those keeps working.
"""
from __future__ import annotations

from typing import Dict, Optional, Type


class TownhallError(Exception):
    """A libtownhall call failed."""

    #: The C code (negative), e.g. -3 for TH_ENOTFOUND.
    code: int = 0
    #: The C name, e.g. "TH_ENOTFOUND".
    name: str = "TH_EUNKNOWN"

    def __init__(self, message: str, code: Optional[int] = None,
                 name: Optional[str] = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        if name is not None:
            self.name = name
        self.message = message

    def __str__(self) -> str:
        return f"{self.message} ({self.name})"


class InvalidArgument(TownhallError, ValueError):
    code, name = -1, "TH_EINVAL"


class OutOfMemory(TownhallError, MemoryError):
    code, name = -2, "TH_ENOMEM"


class NotFound(TownhallError, LookupError):
    code, name = -3, "TH_ENOTFOUND"


class AlreadyExists(TownhallError):
    code, name = -4, "TH_EEXIST"


class TooLong(TownhallError, ValueError):
    code, name = -5, "TH_ETOOLONG"


class InvalidUTF8(TownhallError, ValueError):
    code, name = -6, "TH_EUTF8"


class Closed(TownhallError):
    """The consultation is not open (not yet, or any more)."""
    code, name = -7, "TH_ECLOSED"


class InvalidState(TownhallError):
    code, name = -8, "TH_ESTATE"


class NotPermitted(TownhallError):
    code, name = -9, "TH_EPERM"


class AuthenticationFailed(TownhallError):
    code, name = -10, "TH_EAUTH"


class NewerDatabase(TownhallError):
    code, name = -11, "TH_ENEWER"


class NotADatabase(TownhallError):
    code, name = -12, "TH_ENOTDB"


class Corrupt(TownhallError):
    code, name = -13, "TH_ECORRUPT"


class KeyFileError(TownhallError):
    code, name = -14, "TH_EKEY"


class IOFailure(TownhallError, OSError):
    code, name = -15, "TH_EIO"

    def __init__(self, message: str, code: Optional[int] = None,
                 name: Optional[str] = None) -> None:
        TownhallError.__init__(self, message, code, name)

    def __str__(self) -> str:
        return TownhallError.__str__(self)


class DiskFull(TownhallError):
    code, name = -16, "TH_EFULL"


class Busy(TownhallError):
    code, name = -17, "TH_EBUSY"


class DatabaseError(TownhallError):
    code, name = -18, "TH_EDB"


class OutOfRange(TownhallError, ValueError):
    code, name = -19, "TH_ERANGE"


class RateLimited(TownhallError):
    code, name = -20, "TH_ELIMIT"


class TooShort(TownhallError, ValueError):
    code, name = -21, "TH_ETOOSHORT"


class ReadOnly(TownhallError):
    code, name = -22, "TH_EREADONLY"


class ShuttingDown(TownhallError):
    code, name = -23, "TH_ESHUTDOWN"


class Conflict(TownhallError):
    """The request conflicts with an earlier one: an idempotency key used
    again, from the same device the same day, for a different answer. Make
    a new key for each answer (a retry sends the same key and the same
    answer)."""
    code, name = -24, "TH_ECONFLICT"


class HandleClosed(InvalidState):
    """The Townhall object was closed (a binding error, not a library one:
    its code is TH_ESTATE)."""


#: code -> class, for every code the C header defines.
ERRORS: Dict[int, Type[TownhallError]] = {
    cls.code: cls for cls in (
        InvalidArgument, OutOfMemory, NotFound, AlreadyExists, TooLong,
        InvalidUTF8, Closed, InvalidState, NotPermitted, AuthenticationFailed,
        NewerDatabase, NotADatabase, Corrupt, KeyFileError, IOFailure,
        DiskFull, Busy, DatabaseError, OutOfRange, RateLimited, TooShort,
        ReadOnly, ShuttingDown, Conflict)
}


def error_for(code: int, message: str) -> TownhallError:
    """The exception for a negative code (TownhallError itself for a code
    this package does not know, with the library's name for it)."""
    cls = ERRORS.get(code)
    if cls is not None:
        return cls(message)
    from ._lib import lib
    return TownhallError(message, code, lib.th_err_name(code).decode())


__all__ = ["TownhallError", "HandleClosed", "ERRORS", "error_for"] + [
    c.__name__ for c in ERRORS.values()]
