"""The values townhall returns, as frozen dataclasses, and its enumerations.

Times are milliseconds since the Unix epoch (UTC), as in the C API; the
``*_datetime`` helpers turn them into aware datetimes.
"""
from __future__ import annotations

import datetime as _dt
import enum
from dataclasses import dataclass, field
from typing import List, Optional, Tuple, Union


def to_datetime(ms: int) -> Optional[_dt.datetime]:
    """An aware UTC datetime for a townhall time; None for 0 (no time)."""
    if not ms:
        return None
    return _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.timezone.utc)


def from_datetime(value: Union[int, _dt.datetime, _dt.date, None]) -> int:
    """Milliseconds since the epoch for a number (taken as milliseconds), a
    datetime (naive ones are taken as UTC), a date (its midnight UTC) or
    None (0)."""
    if value is None:
        return 0
    if isinstance(value, bool):
        raise TypeError("a time is an int (milliseconds) or a datetime")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return int(value.timestamp() * 1000)
    if isinstance(value, _dt.date):
        return int(_dt.datetime(value.year, value.month, value.day,
                                tzinfo=_dt.timezone.utc).timestamp() * 1000)
    raise TypeError("a time is an int (milliseconds) or a datetime")


class Status(enum.IntEnum):
    """An idea's status (th_status)."""
    PENDING = 0
    PUBLISHED = 1
    UNDER_REVIEW = 2
    ACCEPTED = 3
    IN_PROGRESS = 4
    DONE = 5
    DECLINED = 6
    HIDDEN = 7
    WITHDRAWN = 8
    MERGED = 9

    @property
    def label(self) -> str:
        """The library's name: "under_review"."""
        return self.name.lower()


#: The statuses the public may see (TH_STATUS_PUBLIC).
PUBLIC_STATUSES = frozenset({Status.PUBLISHED, Status.UNDER_REVIEW,
                             Status.ACCEPTED, Status.IN_PROGRESS, Status.DONE,
                             Status.DECLINED})


class Sort(enum.IntEnum):
    """How a list of ideas is ranked (th_sort)."""
    TOP = 0
    HOT = 1
    NEW = 2
    CONTROVERSIAL = 3
    RANDOM = 4


class Moderation(enum.IntEnum):
    """A moderator's action on an idea (th_moderation)."""
    PUBLISH = 0
    HIDE = 1
    REJECT = 2
    MERGE = 3


class Role(enum.IntEnum):
    """A staff API token's role (th_role)."""
    MODERATOR = 1
    COUNCILLOR = 2
    ADMIN = 3


@dataclass(frozen=True)
class Who:
    """Who is acting: a signed-in resident (the council's own id for them,
    e.g. a JWT's "sub"), or a device (address and user agent). Neither is
    stored: townhall keeps keyed hashes only."""
    resident: Optional[str] = None
    ip: Optional[str] = None
    user_agent: Optional[str] = None

    @classmethod
    def device(cls, ip: str, user_agent: Optional[str] = None) -> "Who":
        return cls(ip=ip, user_agent=user_agent)


@dataclass(frozen=True)
class Site:
    id: int
    slug: str
    name: str
    origins: str = ""
    keep_params: str = ""
    moderate_ideas: bool = False
    allow_anonymous: bool = False
    rank_anonymous: bool = False
    comment_days: int = 0
    audit_days: int = 0
    key_days: int = 0
    open_min: int = 0
    open_round: int = 0
    created: int = 0
    #: The site's wards and categories: an idea's must be one of them
    #: where the site has a list; () means free text, scrubbed.
    wards: Tuple[str, ...] = ()
    categories: Tuple[str, ...] = ()
    #: The council's own contact details, kept when staff text is scrubbed.
    contacts: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Consultation:
    id: int
    site_id: int
    slug: str
    title: str
    description: str
    ward: str
    opens: int
    closes: int
    key_destroyed: bool
    created: int


@dataclass(frozen=True)
class Idea:
    id: int
    consultation_id: int
    consultation: str
    title: str
    body: str
    category: str
    ward: str
    status: Status
    merged_into: int
    response: str
    response_at: int
    up: int
    down: int
    anon_up: int
    anon_down: int
    top: float
    hot: float
    controversial: float
    created: int
    updated: int
    #: Whether the public may see it (th_idea_is_public): a merged idea only
    #: if it was public before the merge.
    public: bool = True

    @property
    def score(self) -> int:
        """Up votes minus down votes, signed-in residents and devices."""
        return self.up + self.anon_up - self.down - self.anon_down


@dataclass(frozen=True)
class IdeaPage:
    """A page of a list of ideas; pass next_cursor back for the next page
    (None on the last page)."""
    items: List[Idea]
    next_cursor: Optional[str]

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True)
class Submission:
    """The result of proposing an idea: its id, and whether the same author
    had already proposed the same title (then id is the earlier idea's)."""
    id: int
    duplicate: bool


@dataclass(frozen=True)
class Counts:
    """An idea's counts after a vote, and the voter's vote now (1, -1, 0).
    changed is False when the vote was already that (TH_DUPLICATE)."""
    up: int
    down: int
    anon_up: int
    anon_down: int
    my_vote: int
    changed: bool = True


@dataclass(frozen=True)
class VoteDay:
    day: int
    up: int
    down: int


@dataclass(frozen=True)
class Answer:
    """The result of answering "is this page useful?". recorded is False
    when the call was a retry of an earlier one (same idempotency key, same
    device, same answer, the same day: TH_DUPLICATE), and handle is then the
    first call's. handle is the only way to amend the answer, until
    midnight UTC; the library keeps only a keyed hash of its secret half,
    so treat it as a secret of the resident's (never put it in a URL)."""
    recorded: bool
    handle: str = field(repr=False)


Count = Optional[int]


@dataclass(frozen=True)
class PageSummary:
    """A page's feedback. exact: the exact counters (staff, every figure
    an int or a float). Otherwise the published figures
    (``feedback_summary(..., public=True)``): complete ISO weeks only, small
    counts withheld and the others rounded, and every figure the public may
    not see is None (comments always)."""
    page: str
    yes: Count
    no: Count
    #: yes + no.
    responses: Count
    #: ratings[0] counts 1-star ratings ... ratings[4] 5-star ones.
    ratings: Tuple[Count, Count, Count, Count, Count]
    rating_count: Count
    #: 0 when rating_count is 0.
    rating_mean: Optional[float]
    #: Wilson lower bound (95%) of yes / (yes + no).
    useful_lower: Optional[float]
    comments: Count
    #: Exact: the first and last days with feedback. Published: the first
    #: day of the first week and the last day of the last week covered.
    first: int
    last: int
    exact: bool = True


@dataclass(frozen=True)
class PageList:
    items: List[PageSummary]
    next_cursor: Optional[str]

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True)
class Comment:
    day: int
    useful: bool
    rating: int
    text: str


@dataclass(frozen=True)
class PurgeReport:
    comments: int = 0
    audit: int = 0
    keys: int = 0
    dedup_tokens: int = 0
    salts: int = 0


@dataclass(frozen=True)
class KeyRotation:
    site_secrets: int = 0       # re-sealed under the new key file
    consultation_keys: int = 0  # re-sealed under the new key file
    tokens_revoked: int = 0     # staff tokens: create new ones


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: int
    actor: str
    action: str
    idea_id: int
    detail: str


@dataclass(frozen=True)
class TokenInfo:
    id: int
    site: str
    role: Role
    label: str
    created: int
    expires: int
    revoked: bool


@dataclass(frozen=True)
class NewToken:
    """A staff token just created. ``token`` is the only copy: show it once."""
    id: int
    token: str = field(repr=False)


__all__ = ["Status", "PUBLIC_STATUSES", "Sort", "Moderation", "Role", "Who",
           "Site", "Consultation", "Idea", "IdeaPage", "Submission", "Counts",
           "VoteDay", "Answer", "PageSummary", "PageList", "Comment",
           "PurgeReport", "KeyRotation", "AuditEntry", "TokenInfo", "NewToken",
           "to_datetime", "from_datetime"]
