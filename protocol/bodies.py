"""Record bodies: the 23 record types, each validated strictly from its map.

``BODY_TYPES`` maps each :class:`RecordType` to its body class. A body is built from its
canonical map by ``from_value``, which checks every field and refuses unknown ones, and
``to_value`` gives that map back, so a body has exactly one encoding. The signed envelope
around a body is :mod:`.records`'s.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Final, Self, TypeVar

from .errors import InvalidIdentity, InvalidRecord, LocalProtocolError
from .identity import canonical_did

__all__ = [
    "APPROVABLE_OUTCOMES",
    "APPROVALS",
    "APPROVAL_DAY_BUCKETS",
    "BODY_TYPES",
    "COOP_SIGNED_TYPES",
    "DAY_MS",
    "DEFAULT_TASK_K",
    "MAX_TS",
    "MEMBERS_ONLY_TYPES",
    "MINUTE_BUCKETS",
    "MIN_TS",
    "NOT_COOP_SIGNED_TYPES",
    "PROGRESS_BUCKETS",
    "REPORT_OUTCOMES",
    "REPORT_REASONS",
    "REQUESTER_CACHE_SIZE",
    "REQUESTER_TYPES",
    "RETRACTABLE_TYPES",
    "SCORE_DIMENSIONS",
    "AdoptRule",
    "Appeal",
    "Ballot",
    "Block",
    "BlockRule",
    "Body",
    "Charter",
    "Comment",
    "Decision",
    "Delegation",
    "FederationPolicy",
    "Flag",
    "FlagReason",
    "Follow",
    "MemberAdmit",
    "MemberApply",
    "MemberResign",
    "MemberRevoke",
    "Outcome",
    "PlatformId",
    "Proposal",
    "ProposalKind",
    "Rating",
    "RecordType",
    "Reply",
    "RequesterAlias",
    "RequesterKey",
    "RequesterRef",
    "Retraction",
    "RoleAssign",
    "Signer",
    "TaskReport",
    "Unblock",
    "coarse_days",
    "coarse_minutes",
]

#: Requesters whose :class:`RequesterRef` decoding shares (one value each, not one per record).
REQUESTER_CACHE_SIZE: Final = 65536
#: Timestamps are Unix milliseconds within [2020-01-01, 2200-01-01).
MIN_TS: Final = 1_577_836_800_000
MAX_TS: Final = 7_258_118_400_000
DAY_MS: Final = 86_400_000

_PLATFORM_RE: Final = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")
_REQUESTER_ID_RE: Final = re.compile(r"[\x21-\x7e]{1,128}")
_ROLE_RE: Final = re.compile(r"[a-z][a-z0-9_]{0,31}")
_CHOICE_RE: Final = re.compile(r"[a-z][a-z0-9_.:-]{0,63}")
_CURRENCY_RE: Final = re.compile(r"[A-Z]{3}")

#: The minutes a member may report for a task (records.md §4.23, privacy.md §3): the measured
#: time goes to the nearest of these (:func:`coarse_minutes`), so that a requester, who sees
#: each participant's exact duration, cannot pick the member out by it.
MINUTE_BUCKETS: Final = (
    1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 75, 90, 105, 120, 150, 180, 240,
    300, 360, 480, 600, 720,
)  # fmt: skip
#: Whole days from a task's day to its approval, or still pending: the greatest of these not
#: above the real number (:func:`coarse_days`), so the report can be made on that day.
APPROVAL_DAY_BUCKETS: Final = (0, 1, 2, 3, 5, 7, 10, 14, 21, 30, 45, 60, 90)
#: How far a member had got when they returned a task, in per cent (TurkerView's estimate).
PROGRESS_BUCKETS: Final = (10, 25, 50, 75, 100)
#: What happened to the member's attempt at a task.
REPORT_OUTCOMES: Final = (
    "submitted", "returned", "timed_out", "screened_out_paid", "screened_out_unpaid",
)  # fmt: skip
#: The outcomes a later report may give the approval of.
APPROVABLE_OUTCOMES: Final = frozenset({"submitted", "timed_out", "screened_out_paid"})
#: What became of a submission: a later report that ``follows`` the first says.
APPROVALS: Final = ("approved", "partially_approved", "rejected", "pending")
#: Why a member returned a task, or what it asked of them (TurkerView's return reviews and
#: more; records.md §4.23). Those ending in ``other`` need a note.
REPORT_REASONS: Final = (
    "broken",
    "device_incompatible",
    "download_app",
    "download_extension",
    "download_inquisit",
    "download_other",
    "measures_other",
    "no_completion_code",
    "other",
    "personal_data_major",
    "personal_data_minor",
    "phishing",
    "phone_call",
    "return_requested",
    "review_fraud",
    "terms_other",
    "time_underestimated",
    "underpaid",
    "webcam",
    "writing_experiential",
    "writing_other",
)
#: Per-task figures are shown once this many members reported the task, unless the
#: charter says otherwise (``task_k``; privacy.md §5).
DEFAULT_TASK_K: Final = 3


def coarse_minutes(seconds: int) -> int:
    """The bucket of :data:`MINUTE_BUCKETS` nearest to ``seconds``; a tie goes to the larger."""
    if type(seconds) is not int or seconds < 0:
        raise LocalProtocolError(f"seconds is a non-negative integer, got {seconds!r}")
    return min(MINUTE_BUCKETS, key=lambda m: (abs(60 * m - seconds), -m))


def coarse_days(days: int) -> int:
    """The greatest bucket of :data:`APPROVAL_DAY_BUCKETS` not above ``days``."""
    if type(days) is not int or days < 0:
        raise LocalProtocolError(f"days is a non-negative integer, got {days!r}")
    return max(d for d in APPROVAL_DAY_BUCKETS if d <= days)

_E = TypeVar("_E", bound=StrEnum)


class RecordType(StrEnum):
    CHARTER = "charter"
    MEMBER_APPLY = "member.apply"
    MEMBER_ADMIT = "member.admit"
    MEMBER_RESIGN = "member.resign"
    MEMBER_REVOKE = "member.revoke"
    ROLE_ASSIGN = "role.assign"
    RATING = "rating"
    FLAG = "flag"
    APPEAL = "appeal"
    REPLY = "reply"
    REQUESTER_KEY = "requester.key"
    REQUESTER_ALIAS = "requester.alias"
    RETRACTION = "retraction"
    PROPOSAL = "proposal"
    BALLOT = "ballot"
    DECISION = "decision"
    BLOCK = "block"
    UNBLOCK = "unblock"
    FEDERATION_POLICY = "federation.policy"
    COMMENT = "comment"
    OUTCOME = "outcome"
    DELEGATION = "delegation"
    TASK_REPORT = "task.report"


class FlagReason(StrEnum):
    UNDERPAID = "underpaid"
    UNFAIR_REJECTION = "unfair_rejection"
    BROKEN = "broken"
    SCAM = "scam"
    HARMFUL_CONTENT = "harmful_content"
    PRIVACY = "privacy"
    UNPAID_SCREENER = "unpaid_screener"
    TERMS_VIOLATION = "terms_violation"
    OTHER = "other"


class ProposalKind(StrEnum):
    BLOCK = "block"
    UNBLOCK = "unblock"
    ADMIT = "admit"
    REVOKE = "revoke"
    AMEND = "amend"
    ELECT = "elect"
    IDEA = "idea"


class Signer(StrEnum):
    """Who may sign a record type: the co-op's key, a member, or someone else."""

    COOP = "coop"
    MEMBER = "member"
    APPLICANT = "applicant"
    REQUESTER = "requester"
    MEMBER_OR_COOP = "member_or_coop"


# --------------------------------------------------------------------------- field readers


class _Fields:
    """Reads a body map once: each field is checked and taken; leftovers are an error."""

    __slots__ = ("_seen", "path", "value")

    def __init__(self, value: object, path: str) -> None:
        if type(value) is not dict:
            raise InvalidRecord(f"{path} must be a map, got {_kind(value)}")
        self.value: dict[str, Any] = value
        self.path = path
        self._seen: set[str] = set()

    def _get(self, key: str, required: bool) -> Any:
        self._seen.add(key)
        if key not in self.value:
            if required:
                raise InvalidRecord(f"{self.path}.{key} is required")
            return None
        value = self.value[key]
        if value is None:
            # Absent and nil would be two encodings of one body: only absence is allowed.
            raise InvalidRecord(f"{self.path}.{key} is nil; leave an unset field out instead")
        return value

    def done(self) -> None:
        extra = sorted(set(self.value) - self._seen)
        if extra:
            raise InvalidRecord(f"{self.path} has unknown field(s): {', '.join(extra)}")

    def text(
        self,
        key: str,
        *,
        max_len: int,
        min_len: int = 1,
        required: bool = True,
        pattern: re.Pattern[str] | None = None,
        one_line: bool = False,
    ) -> str | None:
        v = self._get(key, required)
        if v is None:
            return None
        if type(v) is not str:
            raise InvalidRecord(f"{self.path}.{key} must be text, got {_kind(v)}")
        if not min_len <= len(v) <= max_len:
            raise InvalidRecord(
                f"{self.path}.{key} must be {min_len}–{max_len} characters, got {len(v)}"
            )
        if pattern is not None and pattern.fullmatch(v) is None:
            raise InvalidRecord(f"{self.path}.{key} {v!r} does not match {pattern.pattern}")
        if pattern is None and _FORBIDDEN_RE.search(v) is not None:
            raise InvalidRecord(
                f"{self.path}.{key} contains control or text-direction override characters"
            )
        if one_line and (brk := _LINE_BREAK_RE.search(v)) is not None:
            raise InvalidRecord(
                f"{self.path}.{key} is one line; it holds {brk.group()!r} at character "
                f"{brk.start()}",
                code="not_one_line",
            )
        return v

    def integer(self, key: str, *, lo: int, hi: int, required: bool = True) -> int | None:
        v = self._get(key, required)
        if v is None:
            return None
        if type(v) is not int:
            raise InvalidRecord(f"{self.path}.{key} must be an integer, got {_kind(v)}")
        if not lo <= v <= hi:
            raise InvalidRecord(f"{self.path}.{key} must be in [{lo}, {hi}], got {v}")
        return v

    def boolean(self, key: str, *, required: bool = True) -> bool | None:
        v = self._get(key, required)
        if v is None:
            return None
        if type(v) is not bool:
            raise InvalidRecord(f"{self.path}.{key} must be true or false, got {_kind(v)}")
        return v

    def digest(self, key: str, *, required: bool = True) -> bytes | None:
        v = self._get(key, required)
        if v is None:
            return None
        return _digest(v, f"{self.path}.{key}")

    def did(self, key: str, *, required: bool = True) -> str | None:
        v = self._get(key, required)
        if v is None:
            return None
        return _did(v, f"{self.path}.{key}")

    def enum(self, key: str, enum: type[_E], *, required: bool = True) -> _E | None:
        v = self._get(key, required)
        if v is None:
            return None
        return _enum(v, enum, f"{self.path}.{key}")

    def choice(self, key: str, options: Iterable[str], *, required: bool = True) -> str | None:
        v = self._get(key, required)
        if v is None:
            return None
        allowed = tuple(options)
        if v not in allowed:
            raise InvalidRecord(f"{self.path}.{key} must be one of {allowed}, got {v!r}")
        return str(allowed[allowed.index(v)])  # the constant, not one string per record

    def requester(self, key: str, *, required: bool = True) -> RequesterRef | None:
        v = self._get(key, required)
        if v is None:
            return None
        return RequesterRef.from_value(v, f"{self.path}.{key}")

    def array(
        self, key: str, *, max_len: int, min_len: int = 0, required: bool = True
    ) -> list[Any] | None:
        v = self._get(key, required)
        if v is None:
            return None
        if type(v) is not list:
            raise InvalidRecord(f"{self.path}.{key} must be an array, got {_kind(v)}")
        if not min_len <= len(v) <= max_len:
            raise InvalidRecord(
                f"{self.path}.{key} must hold {min_len}–{max_len} items, got {len(v)}"
            )
        return v

    def raw(self, key: str, *, required: bool = True) -> Any:
        return self._get(key, required)

    def bucket(self, key: str, buckets: tuple[int, ...], *, required: bool = True) -> int | None:
        """An integer that must be one of ``buckets`` (coarse by design): ``not_coarse``."""
        v = self.integer(key, lo=buckets[0], hi=buckets[-1], required=required)
        if v is not None and v not in buckets:
            raise InvalidRecord(
                f"{self.path}.{key} is coarse: one of {', '.join(map(str, buckets))}; got {v}",
                code="not_coarse",
            )
        return v

    def currency(self, key: str, *, required: bool = True) -> str | None:
        """An ISO 4217 code: three upper-case letters."""
        return self.text(key, max_len=3, min_len=3, required=required, pattern=_CURRENCY_RE)


def _forbidden_char(c: str) -> bool:
    """Controls (but tab and newline) and bidi overrides, which can make text lie."""
    o = ord(c)
    return (
        (o < 0x20 and c not in "\n\t")
        or 0x7F <= o <= 0x9F
        or 0x202A <= o <= 0x202E
        or 0x2066 <= o <= 0x2069
    )


#: The characters :func:`_forbidden_char` refuses, as one regex (a C loop, not a Python one).
_FORBIDDEN_RE: Final = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


#: What a one-line field refuses besides that: the tab and every line or paragraph break
#: text may hold (CR, NEL, VT and FF are controls, refused above).
_LINE_BREAK_RE: Final = re.compile("[\t\n\u2028\u2029]")


def _kind(v: object) -> str:
    return {
        dict: "a map",
        list: "an array",
        str: "text",
        bytes: "binary",
        int: "an integer",
        bool: "a boolean",
        type(None): "nil",
    }.get(type(v), type(v).__name__)


def _digest(v: object, path: str) -> bytes:
    if type(v) is not bytes or len(v) != 32:
        raise InvalidRecord(f"{path} must be 32 bytes of binary (a SHA-256), got {_kind(v)}")
    return v


def _did(v: object, path: str) -> str:
    if type(v) is not str:
        raise InvalidRecord(f"{path} must be a did:key, got {_kind(v)}")
    try:
        return canonical_did(v)
    except InvalidIdentity as exc:
        raise InvalidRecord(f"{path}: {exc.message}") from None


def _enum(v: object, enum: type[_E], path: str) -> _E:
    if type(v) is not str or v not in enum._value2member_map_:
        allowed = ", ".join(m.value for m in enum)
        raise InvalidRecord(f"{path} must be one of: {allowed}; got {v!r}")
    return enum(v)


def _choice(v: object, path: str) -> str:
    """A ballot choice: a word such as ``yes`` or ``up``, or a candidate's did:key."""
    if type(v) is not str:
        raise InvalidRecord(f"{path} must be text, got {_kind(v)}")
    if v.startswith("did:"):
        return _did(v, path)
    if _CHOICE_RE.fullmatch(v) is None:
        raise InvalidRecord(f"{path} {v!r} is not a choice (a word or a did:key)")
    return v


def _strictly_sorted(items: list[Any], key: Callable[[Any], Any], path: str) -> None:
    for a, b in itertools.pairwise(items):
        if not key(a) < key(b):
            raise InvalidRecord(f"{path} must be sorted ascending with no duplicates")


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


# --------------------------------------------------------------------------- shared values


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class RequesterRef:
    """A requester, always named on its platform: ``mturk:A1B2C3``."""

    platform: str
    id: str

    def __post_init__(self) -> None:
        if _PLATFORM_RE.fullmatch(self.platform) is None:
            raise InvalidRecord(
                f"platform {self.platform!r} must be 1–32 of a-z 0-9 . _ - (lower case)"
            )
        if _REQUESTER_ID_RE.fullmatch(self.id) is None:
            raise InvalidRecord(
                f"requester id {self.id!r} must be 1–128 printable ASCII characters, no spaces"
            )

    @classmethod
    def from_value(cls, value: object, path: str = "requester") -> RequesterRef:
        f = _Fields(value, path)
        platform = f.text("platform", max_len=32) or ""
        rid = f.text("id", max_len=128) or ""
        f.done()
        if cls is not RequesterRef:  # pragma: no cover - no subclasses in the protocol
            return cls(platform=platform, id=rid)
        return _requester_ref(platform, rid)

    @classmethod
    def parse(cls, text: str) -> RequesterRef:
        """Parse ``PLATFORM:ID`` (the form used on command lines and in URLs)."""
        platform, sep, rid = text.partition(":")
        if not sep:
            raise InvalidRecord(f"expected PLATFORM:REQUESTER_ID, got {text!r}")
        return cls(platform=platform, id=rid)

    def to_value(self) -> dict[str, Any]:
        return {"id": self.id, "platform": self.platform}

    def __str__(self) -> str:
        return f"{self.platform}:{self.id}"


@functools.lru_cache(maxsize=REQUESTER_CACHE_SIZE)
def _requester_ref(platform: str, rid: str) -> RequesterRef:
    """One shared value per requester: a log names the same few thousand again and again."""
    return RequesterRef(platform=platform, id=rid)


@dataclass(frozen=True, slots=True)
class PlatformId:
    """An id a record names on a platform, which the platform rules check (platforms.md §4)."""

    platform: str
    #: ``requester``, ``task`` or ``batch``.
    kind: str
    id: str
    #: Where the body holds it, for messages: ``body.requester.id``, ``body.task``, …
    where: str


def _requester_id(requester: RequesterRef, where: str = "body.requester") -> PlatformId:
    return PlatformId(requester.platform, "requester", requester.id, f"{where}.id")


# --------------------------------------------------------------------------- bodies


class Body:
    """Base of every body type: ``from_value`` validates, ``to_value`` gives the canonical map.

    Each body class declares what the rest of the protocol needs to know about its type, and
    every table of record types (in :mod:`.state`, the node and the browser's ``records.js``)
    is derived from these traits: a new record type is added here and nowhere else.
    """

    TYPE: ClassVar[RecordType]
    #: Who signs it (records.md §3).
    SIGNER: ClassVar[Signer]
    #: The fields that name another record of the log by its id: a digest, an optional
    #: digest, or a tuple of digests. :meth:`references` reads them.
    CITES: ClassVar[tuple[str, ...]] = ()
    #: A member's or a requester's statement about one requester (it has ``requester``).
    ABOUT_REQUESTER: ClassVar[bool] = False
    #: Its author may withdraw it with a ``retraction``.
    RETRACTABLE: ClassVar[bool] = False
    #: Its admissibility depends on no other record posted with it except through the
    #: records it cites, so a batch of such records may be checked each against the same
    #: state (:func:`.state.batchable_prefix`).
    ORDER_FREE: ClassVar[bool] = False
    #: A governance-only state (``CoopState(keep_all=False)``) lets it go once it is stored:
    #: later records cite it only by id.
    FORGETTABLE: ClassVar[bool] = False
    #: Never in a co-op's log: a node keeps it in a members-only store and shows it only to
    #: members (spec/deliberation.md); a log refuses it (``members_only``).
    MEMBERS_ONLY: ClassVar[bool] = False

    @classmethod
    def from_value(cls, value: object) -> Self:
        raise NotImplementedError

    def to_value(self) -> dict[str, Any]:
        raise NotImplementedError

    def platform_ids(self) -> tuple[PlatformId, ...]:
        """The platform ids this body names from a member's own input (platforms.md §4).

        Only those: a record that names a requester already in the log (a block, a reply,
        an alias, an unblock proposal) keeps whatever form the log has for it.
        """
        return ()

    def references(self) -> tuple[bytes, ...]:
        """Ids of other records this body cites (its ``CITES`` fields that are set)."""
        out: list[bytes] = []
        for name in self.CITES:
            value = getattr(self, name)
            if isinstance(value, bytes):
                out.append(value)
            elif value is not None:
                out.extend(value)
        return tuple(out)


@dataclass(frozen=True, slots=True, kw_only=True)
class BlockRule:
    """Provisional block: ``flags`` distinct members flag a requester within ``days`` days."""

    flags: int
    days: int
    review_days: int

    @classmethod
    def from_value(cls, value: object, path: str) -> BlockRule:
        f = _Fields(value, path)
        out = cls(
            days=f.integer("days", lo=1, hi=365) or 0,
            flags=f.integer("flags", lo=2, hi=1000) or 0,
            review_days=f.integer("review_days", lo=1, hi=365) or 0,
        )
        f.done()
        return out

    def to_value(self) -> dict[str, Any]:
        return {"days": self.days, "flags": self.flags, "review_days": self.review_days}


@dataclass(frozen=True, slots=True, kw_only=True)
class Charter(Body):
    """The co-op's rules. The first has no ``supersedes``; amendments cite the decision."""

    TYPE: ClassVar[RecordType] = RecordType.CHARTER
    SIGNER: ClassVar[Signer] = Signer.COOP
    CITES: ClassVar[tuple[str, ...]] = ("supersedes", "decision")

    name: str
    quorum_pct: int
    pass_pct: int
    amend_pct: int
    min_window_ms: int
    max_window_ms: int
    idea_up: int
    block_rule: BlockRule
    admission: str
    #: The agreed minimum pay per hour, in minor units per currency (``{"GBP": 1050}``).
    min_pay: tuple[tuple[str, int], ...] | None = None
    #: Charters from before per-currency pay: cents per hour in US dollars (0: none).
    min_pay_cents: int | None = None
    #: Per-task pay figures are shown once this many members reported; absent: 3.
    task_k: int | None = None
    roles: tuple[str, ...] = ()
    #: Members may delegate their vote to another member (governance.md §6).
    delegation: bool = False
    supersedes: bytes | None = None
    decision: bytes | None = None

    @classmethod
    def from_value(cls, value: object, path: str = "body") -> Charter:
        f = _Fields(value, path)
        roles = f.array("roles", max_len=16) or []
        for i, r in enumerate(roles):
            if type(r) is not str or _ROLE_RE.fullmatch(r) is None:
                raise InvalidRecord(f"{path}.roles[{i}] must match {_ROLE_RE.pattern}")
        _strictly_sorted(roles, lambda r: r, f"{path}.roles")
        raw_pay = f.raw("min_pay", required=False)
        min_pay = None
        if raw_pay is not None:
            if type(raw_pay) is not dict:
                raise InvalidRecord(f"{path}.min_pay must be a map, got {_kind(raw_pay)}")
            if len(raw_pay) > 16:
                raise InvalidRecord(f"{path}.min_pay names at most 16 currencies")
            m = _Fields(raw_pay, f"{path}.min_pay")
            min_pay = tuple(
                (cur, _int(m.integer(cur, lo=1, hi=100_000_000)))
                for cur in sorted(raw_pay, key=lambda k: k.encode() if type(k) is str else b"")
                if type(cur) is str and _CURRENCY_RE.fullmatch(cur)
            )
            m.done()
            if len(min_pay) != len(raw_pay):
                raise InvalidRecord(f"{path}.min_pay is keyed by ISO 4217 codes such as USD")
        out = cls(
            admission=f.choice("admission", ("invite", "vote")) or "",
            amend_pct=_int(f.integer("amend_pct", lo=50, hi=99)),
            block_rule=BlockRule.from_value(f.raw("block_rule"), f"{path}.block_rule"),
            decision=f.digest("decision", required=False),
            delegation=bool(f.boolean("delegation", required=False)),
            idea_up=_int(f.integer("idea_up", lo=1, hi=100_000)),
            max_window_ms=_int(f.integer("max_window_ms", lo=3_600_000, hi=90 * DAY_MS)),
            min_pay=min_pay,
            min_pay_cents=f.integer("min_pay_cents", lo=0, hi=100_000, required=False),
            min_window_ms=_int(f.integer("min_window_ms", lo=3_600_000, hi=90 * DAY_MS)),
            name=f.text("name", max_len=100, one_line=True) or "",
            pass_pct=_int(f.integer("pass_pct", lo=50, hi=99)),
            quorum_pct=_int(f.integer("quorum_pct", lo=1, hi=100)),
            roles=tuple(roles),
            supersedes=f.digest("supersedes", required=False),
            task_k=f.integer("task_k", lo=1, hi=1000, required=False),
        )
        f.done()
        if f.value.get("delegation") is False:
            # Charters before delegation existed say nothing of it; so does one without it.
            raise InvalidRecord(f"{path}.delegation is omitted when false (one encoding per value)")
        if (out.min_pay is None) == (out.min_pay_cents is None):
            raise InvalidRecord(
                f"{path} states its minimum pay once: min_pay (per currency), or in charters "
                "from before, min_pay_cents"
            )
        if out.min_window_ms > out.max_window_ms:
            raise InvalidRecord(f"{path}.min_window_ms is greater than max_window_ms")
        if out.amend_pct < out.pass_pct:
            raise InvalidRecord(f"{path}.amend_pct must be at least pass_pct")
        if (out.supersedes is None) != (out.decision is None):
            raise InvalidRecord(f"{path}: an amendment names both supersedes and decision")
        return out

    def to_value(self) -> dict[str, Any]:
        return _drop_none(
            {
                "admission": self.admission,
                "amend_pct": self.amend_pct,
                "block_rule": self.block_rule.to_value(),
                "decision": self.decision,
                "delegation": True if self.delegation else None,
                "idea_up": self.idea_up,
                "max_window_ms": self.max_window_ms,
                "min_pay": None if self.min_pay is None else dict(self.min_pay),
                "min_pay_cents": self.min_pay_cents,
                "min_window_ms": self.min_window_ms,
                "name": self.name,
                "pass_pct": self.pass_pct,
                "quorum_pct": self.quorum_pct,
                "roles": list(self.roles),
                "supersedes": self.supersedes,
                "task_k": self.task_k,
            }
        )

    def __post_init__(self) -> None:
        # Currencies in the order of their encoding, whatever order the caller gave.
        if self.min_pay is not None:
            pay = tuple(sorted(self.min_pay, key=lambda p: str(p[0]).encode()))
            object.__setattr__(self, "min_pay", pay)

    @property
    def min_pay_per_hour(self) -> dict[str, int]:
        """The agreed minimum per currency, minor units per hour; an old charter's is USD."""
        if self.min_pay is not None:
            return dict(self.min_pay)
        return {"USD": self.min_pay_cents} if self.min_pay_cents else {}

    @property
    def report_k(self) -> int:
        """How many members must report a task before its figures are shown."""
        return DEFAULT_TASK_K if self.task_k is None else self.task_k

    def rules_value(self) -> dict[str, Any]:
        """The rules alone (no amendment links): what an ``amend`` proposal carries."""
        v = self.to_value()
        v.pop("supersedes", None)
        v.pop("decision", None)
        return v


def _int(v: int | None) -> int:
    assert v is not None  # the reader raised already if a required field was missing
    return v


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberApply(Body):
    """A would-be member asks to join by vote; signed by the applicant's own key."""

    TYPE: ClassVar[RecordType] = RecordType.MEMBER_APPLY
    SIGNER: ClassVar[Signer] = Signer.APPLICANT

    text: str | None = None

    @classmethod
    def from_value(cls, value: object) -> MemberApply:
        f = _Fields(value, "body")
        out = cls(text=f.text("text", max_len=1000, required=False))
        f.done()
        return out

    def to_value(self) -> dict[str, Any]:
        return _drop_none({"text": self.text})


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberAdmit(Body):
    """The co-op admits a member: as a founder, by a redeemed invite, or by a decision."""

    TYPE: ClassVar[RecordType] = RecordType.MEMBER_ADMIT
    SIGNER: ClassVar[Signer] = Signer.COOP
    CITES: ClassVar[tuple[str, ...]] = ("ref",)

    member: str
    via: str
    ref: bytes | None = None

    @classmethod
    def from_value(cls, value: object) -> MemberAdmit:
        f = _Fields(value, "body")
        out = cls(
            member=f.did("member") or "",
            ref=f.digest("ref", required=False),
            via=f.choice("via", ("decision", "founder", "invite")) or "",
        )
        f.done()
        if (out.via == "founder") != (out.ref is None):
            raise InvalidRecord(
                "body.ref is required unless via is 'founder', and only then absent"
            )
        return out

    def to_value(self) -> dict[str, Any]:
        return _drop_none({"member": self.member, "ref": self.ref, "via": self.via})

    def references(self) -> tuple[bytes, ...]:
        # ``ref`` names a record only for an admission by decision: an invite's is the
        # SHA-256 of its token, and a founder has none.
        return (self.ref,) if self.via == "decision" and self.ref is not None else ()


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberResign(Body):
    """A member leaves the co-op; signed by the member."""

    TYPE: ClassVar[RecordType] = RecordType.MEMBER_RESIGN
    SIGNER: ClassVar[Signer] = Signer.MEMBER
    ORDER_FREE: ClassVar[bool] = True

    text: str | None = None

    @classmethod
    def from_value(cls, value: object) -> MemberResign:
        f = _Fields(value, "body")
        out = cls(text=f.text("text", max_len=1000, required=False))
        f.done()
        return out

    def to_value(self) -> dict[str, Any]:
        return _drop_none({"text": self.text})


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberRevoke(Body):
    """The co-op ends a membership, citing a decision or the member's own resignation."""

    TYPE: ClassVar[RecordType] = RecordType.MEMBER_REVOKE
    SIGNER: ClassVar[Signer] = Signer.COOP
    CITES: ClassVar[tuple[str, ...]] = ("ref",)

    member: str
    via: str
    ref: bytes

    @classmethod
    def from_value(cls, value: object) -> MemberRevoke:
        f = _Fields(value, "body")
        out = cls(
            member=f.did("member") or "",
            ref=f.digest("ref") or b"",
            via=f.choice("via", ("decision", "resignation")) or "",
        )
        f.done()
        return out

    def to_value(self) -> dict[str, Any]:
        return {"member": self.member, "ref": self.ref, "via": self.via}


@dataclass(frozen=True, slots=True, kw_only=True)
class RoleAssign(Body):
    """An election's result: ``member`` holds ``role`` (until a later assignment, or ``until``)."""

    TYPE: ClassVar[RecordType] = RecordType.ROLE_ASSIGN
    SIGNER: ClassVar[Signer] = Signer.COOP
    CITES: ClassVar[tuple[str, ...]] = ("decision",)

    role: str
    member: str
    decision: bytes
    until: int | None = None

    @classmethod
    def from_value(cls, value: object) -> RoleAssign:
        f = _Fields(value, "body")
        out = cls(
            decision=f.digest("decision") or b"",
            member=f.did("member") or "",
            role=f.text("role", max_len=32, pattern=_ROLE_RE) or "",
            until=f.integer("until", lo=MIN_TS, hi=MAX_TS, required=False),
        )
        f.done()
        return out

    def to_value(self) -> dict[str, Any]:
        return _drop_none(
            {
                "decision": self.decision,
                "member": self.member,
                "role": self.role,
                "until": self.until,
            }
        )


SCORE_DIMENSIONS: Final = ("comm", "fair", "fast", "pay")


@dataclass(frozen=True, slots=True, kw_only=True)
class Rating(Body):
    """A member's rating of a requester; a newer one by the same member supersedes it."""

    TYPE: ClassVar[RecordType] = RecordType.RATING
    SIGNER: ClassVar[Signer] = Signer.MEMBER
    ABOUT_REQUESTER: ClassVar[bool] = True
    RETRACTABLE: ClassVar[bool] = True
    ORDER_FREE: ClassVar[bool] = True
    FORGETTABLE: ClassVar[bool] = True

    requester: RequesterRef
    scores: tuple[tuple[str, int], ...] = ()
    hourly_cents: int | None = None
    minutes: int | None = None
    rejected: str | None = None
    recommend: bool | None = None
    text: str | None = None
    name: str | None = None

    @classmethod
    def from_value(cls, value: object) -> Rating:
        f = _Fields(value, "body")
        raw_scores = f.raw("scores", required=False)
        scores: list[tuple[str, int]] = []
        if raw_scores is not None:
            s = _Fields(raw_scores, "body.scores")
            for dim in SCORE_DIMENSIONS:
                v = s.integer(dim, lo=1, hi=5, required=False)
                if v is not None:
                    scores.append((dim, v))
            s.done()
            if not scores:
                raise InvalidRecord("body.scores, when present, holds at least one score")
        out = cls(
            hourly_cents=f.integer("hourly_cents", lo=0, hi=1_000_000, required=False),
            minutes=f.integer("minutes", lo=1, hi=100_000, required=False),
            name=_name(f),
            recommend=f.boolean("recommend", required=False),
            rejected=f.choice("rejected", ("all", "none", "some"), required=False),
            requester=_req(f.requester("requester")),
            scores=tuple(scores),
            text=f.text("text", max_len=1000, required=False),
        )
        f.done()
        if out.minutes is not None and out.hourly_cents is None:
            raise InvalidRecord("body.minutes goes with body.hourly_cents")
        if not (
            out.scores
            or out.hourly_cents is not None
            or out.rejected
            or out.recommend is not None
            or out.text
        ):
            raise InvalidRecord(
                "a rating says something: a score, pay, rejections, a recommendation or text"
            )
        return out

    def to_value(self) -> dict[str, Any]:
        return _drop_none(
            {
                "hourly_cents": self.hourly_cents,
                "minutes": self.minutes,
                "name": self.name,
                "recommend": self.recommend,
                "rejected": self.rejected,
                "requester": self.requester.to_value(),
                "scores": dict(self.scores) if self.scores else None,
                "text": self.text,
            }
        )

    def __post_init__(self) -> None:
        # Scores are kept in SCORE_DIMENSIONS order whatever order the caller gave.
        order = {d: i for i, d in enumerate(SCORE_DIMENSIONS)}
        if any(type(d) is not str or d not in order for d, _ in self.scores):
            raise InvalidRecord(f"score dimensions are {', '.join(SCORE_DIMENSIONS)}")
        object.__setattr__(self, "scores", tuple(sorted(self.scores, key=lambda x: order[x[0]])))

    def score(self, dim: str) -> int | None:
        return dict(self.scores).get(dim)

    def platform_ids(self) -> tuple[PlatformId, ...]:
        return (_requester_id(self.requester),)


def _req(v: RequesterRef | None) -> RequesterRef:
    assert v is not None
    return v


def _name(f: _Fields) -> str | None:
    """The requester's name as the member saw it: one line, 1–100 characters."""
    return f.text("name", max_len=100, required=False, one_line=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class Flag(Body):
    """A member flags a requester, or one HIT group or batch of theirs, until ``expires``."""

    TYPE: ClassVar[RecordType] = RecordType.FLAG
    SIGNER: ClassVar[Signer] = Signer.MEMBER
    ABOUT_REQUESTER: ClassVar[bool] = True
    RETRACTABLE: ClassVar[bool] = True
    ORDER_FREE: ClassVar[bool] = True

    requester: RequesterRef
    target: str
    target_id: str | None
    reason: FlagReason
    expires: int
    note: str | None = None
    name: str | None = None

    @classmethod
    def from_value(cls, value: object) -> Flag:
        f = _Fields(value, "body")
        out = cls(
            expires=_int(f.integer("expires", lo=MIN_TS, hi=MAX_TS)),
            name=_name(f),
            note=f.text("note", max_len=1000, required=False),
            reason=f.enum("reason", FlagReason) or FlagReason.OTHER,
            requester=_req(f.requester("requester")),
            target=f.choice("target", ("batch", "hit_group", "requester")) or "",
            target_id=f.text("target_id", max_len=128, pattern=_REQUESTER_ID_RE, required=False),
        )
        f.done()
        if (out.target == "requester") != (out.target_id is None):
            raise InvalidRecord("body.target_id names the HIT group or batch, and only then")
        if out.reason is FlagReason.OTHER and not out.note:
            raise InvalidRecord("a flag with reason 'other' says why in body.note")
        return out

    def to_value(self) -> dict[str, Any]:
        return _drop_none(
            {
                "expires": self.expires,
                "name": self.name,
                "note": self.note,
                "reason": self.reason.value,
                "requester": self.requester.to_value(),
                "target": self.target,
                "target_id": self.target_id,
            }
        )

    def platform_ids(self) -> tuple[PlatformId, ...]:
        ids = [_requester_id(self.requester)]
        if self.target_id is not None:
            # A "hit_group" is the platform's task (a study, a pool, a project).
            kind = "task" if self.target == "hit_group" else "batch"
            ids.append(PlatformId(self.requester.platform, kind, self.target_id, "body.target_id"))
        return tuple(ids)


@dataclass(frozen=True, slots=True, kw_only=True)
class Appeal(Body):
    """A rejection appeal and, in a later record that ``follows`` it, its outcome.

    No assignment or worker id: a requester can map those to a worker's platform account.
    """

    TYPE: ClassVar[RecordType] = RecordType.APPEAL
    SIGNER: ClassVar[Signer] = Signer.MEMBER
    CITES: ClassVar[tuple[str, ...]] = ("follows",)
    ABOUT_REQUESTER: ClassVar[bool] = True
    RETRACTABLE: ClassVar[bool] = True
    ORDER_FREE: ClassVar[bool] = True
    FORGETTABLE: ClassVar[bool] = True

    requester: RequesterRef
    status: str
    hit_group: str | None = None
    rejected_cents: int | None = None
    follows: bytes | None = None
    text: str | None = None
    name: str | None = None

    @classmethod
    def from_value(cls, value: object) -> Appeal:
        f = _Fields(value, "body")
        out = cls(
            follows=f.digest("follows", required=False),
            hit_group=f.text("hit_group", max_len=128, pattern=_REQUESTER_ID_RE, required=False),
            name=_name(f),
            rejected_cents=f.integer("rejected_cents", lo=0, hi=10_000_000, required=False),
            requester=_req(f.requester("requester")),
            status=f.choice("status", ("filed", "lost", "no_response", "won")) or "",
            text=f.text("text", max_len=2000, required=False),
        )
        f.done()
        if (out.status == "filed") != (out.follows is None):
            raise InvalidRecord("an appeal is 'filed' first; an outcome follows an earlier appeal")
        return out

    def to_value(self) -> dict[str, Any]:
        return _drop_none(
            {
                "follows": self.follows,
                "hit_group": self.hit_group,
                "name": self.name,
                "rejected_cents": self.rejected_cents,
                "requester": self.requester.to_value(),
                "status": self.status,
                "text": self.text,
            }
        )

    def platform_ids(self) -> tuple[PlatformId, ...]:
        ids = [_requester_id(self.requester)]
        if self.hit_group is not None:
            platform = self.requester.platform
            ids.append(PlatformId(platform, "task", self.hit_group, "body.hit_group"))
        return tuple(ids)


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply(Body):
    """A requester's right of reply, signed by a key the co-op bound to that requester."""

    TYPE: ClassVar[RecordType] = RecordType.REPLY
    SIGNER: ClassVar[Signer] = Signer.REQUESTER
    CITES: ClassVar[tuple[str, ...]] = ("about",)
    ABOUT_REQUESTER: ClassVar[bool] = True
    ORDER_FREE: ClassVar[bool] = True
    FORGETTABLE: ClassVar[bool] = True

    requester: RequesterRef
    text: str
    about: bytes | None = None

    @classmethod
    def from_value(cls, value: object) -> Reply:
        f = _Fields(value, "body")
        out = cls(
            about=f.digest("about", required=False),
            requester=_req(f.requester("requester")),
            text=f.text("text", max_len=2000) or "",
        )
        f.done()
        return out

    def to_value(self) -> dict[str, Any]:
        return _drop_none(
            {"about": self.about, "requester": self.requester.to_value(), "text": self.text}
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RequesterKey(Body):
    """The co-op binds a key to a requester (checked out of band), so it may reply."""

    TYPE: ClassVar[RecordType] = RecordType.REQUESTER_KEY
    SIGNER: ClassVar[Signer] = Signer.COOP

    requester: RequesterRef
    key: str
    evidence: str

    @classmethod
    def from_value(cls, value: object) -> RequesterKey:
        f = _Fields(value, "body")
        out = cls(
            evidence=f.text("evidence", max_len=500) or "",
            key=f.did("key") or "",
            requester=_req(f.requester("requester")),
        )
        f.done()
        return out

    def to_value(self) -> dict[str, Any]:
        return {"evidence": self.evidence, "key": self.key, "requester": self.requester.to_value()}


@dataclass(frozen=True, slots=True, kw_only=True)
class RequesterAlias(Body):
    """The co-op records that ``requester`` is the same requester as ``alias_of`` (a rename)."""

    TYPE: ClassVar[RecordType] = RecordType.REQUESTER_ALIAS
    SIGNER: ClassVar[Signer] = Signer.COOP

    requester: RequesterRef
    alias_of: RequesterRef

    @classmethod
    def from_value(cls, value: object) -> RequesterAlias:
        f = _Fields(value, "body")
        out = cls(alias_of=_req(f.requester("alias_of")), requester=_req(f.requester("requester")))
        f.done()
        if out.alias_of == out.requester:
            raise InvalidRecord("a requester is not an alias of itself")
        return out

    def to_value(self) -> dict[str, Any]:
        return {"alias_of": self.alias_of.to_value(), "requester": self.requester.to_value()}


@dataclass(frozen=True, slots=True, kw_only=True)
class Retraction(Body):
    """An author withdraws their own rating, flag or appeal; history keeps both."""

    TYPE: ClassVar[RecordType] = RecordType.RETRACTION
    SIGNER: ClassVar[Signer] = Signer.MEMBER
    CITES: ClassVar[tuple[str, ...]] = ("record",)
    ORDER_FREE: ClassVar[bool] = True
    FORGETTABLE: ClassVar[bool] = True

    record: bytes
    reason: str | None = None

    @classmethod
    def from_value(cls, value: object) -> Retraction:
        f = _Fields(value, "body")
        out = cls(
            reason=f.text("reason", max_len=500, required=False), record=f.digest("record") or b""
        )
        f.done()
        return out

    def to_value(self) -> dict[str, Any]:
        return _drop_none({"reason": self.reason, "record": self.record})


@dataclass(frozen=True, slots=True, kw_only=True)
class Proposal(Body):
    """A question put to the members, open for ballots in [opens, closes)."""

    TYPE: ClassVar[RecordType] = RecordType.PROPOSAL
    SIGNER: ClassVar[Signer] = Signer.MEMBER_OR_COOP
    CITES: ClassVar[tuple[str, ...]] = ("application",)
    ORDER_FREE: ClassVar[bool] = True

    kind: ProposalKind
    pitch: str
    opens: int
    closes: int
    text: str | None = None
    requester: RequesterRef | None = None
    reason: FlagReason | None = None
    member: str | None = None
    charter: Charter | None = None
    role: str | None = None
    candidates: tuple[str, ...] = ()
    application: bytes | None = None

    @classmethod
    def from_value(cls, value: object) -> Proposal:
        f = _Fields(value, "body")
        kind = f.enum("kind", ProposalKind) or ProposalKind.IDEA
        raw_charter = f.raw("charter", required=kind is ProposalKind.AMEND)
        cands = (
            f.array("candidates", min_len=1, max_len=20, required=kind is ProposalKind.ELECT) or []
        )
        candidates = [_did(c, f"body.candidates[{i}]") for i, c in enumerate(cands)]
        _strictly_sorted(candidates, lambda c: c.encode(), "body.candidates")
        needs_req = kind in (ProposalKind.BLOCK, ProposalKind.UNBLOCK)
        needs_member = kind in (ProposalKind.ADMIT, ProposalKind.REVOKE)
        out = cls(
            application=f.digest("application", required=False),
            candidates=tuple(candidates),
            charter=None
            if raw_charter is None
            else Charter.from_value(raw_charter, "body.charter"),
            closes=_int(f.integer("closes", lo=MIN_TS, hi=MAX_TS)),
            kind=kind,
            member=f.did("member", required=needs_member),
            opens=_int(f.integer("opens", lo=MIN_TS, hi=MAX_TS)),
            pitch=f.text("pitch", max_len=140, one_line=True) or "",
            reason=f.enum("reason", FlagReason, required=kind is ProposalKind.BLOCK),
            requester=f.requester("requester", required=needs_req),
            role=f.text("role", max_len=32, pattern=_ROLE_RE, required=kind is ProposalKind.ELECT),
            text=f.text("text", max_len=4000, required=False),
        )
        f.done()
        if out.closes <= out.opens:
            raise InvalidRecord("body.closes must be after body.opens")
        extras = {
            "requester": out.requester is not None and not needs_req,
            "reason": out.reason is not None and kind is not ProposalKind.BLOCK,
            "member": out.member is not None and not needs_member,
            "charter": out.charter is not None and kind is not ProposalKind.AMEND,
            "role": out.role is not None and kind is not ProposalKind.ELECT,
            "candidates": bool(out.candidates) and kind is not ProposalKind.ELECT,
            "application": out.application is not None and kind is not ProposalKind.ADMIT,
        }
        wrong = [k for k, bad in extras.items() if bad]
        if wrong:
            raise InvalidRecord(f"a {kind.value} proposal has no {', '.join(wrong)}")
        if out.charter is not None and out.charter.supersedes is not None:
            raise InvalidRecord("body.charter holds the new rules only (no supersedes/decision)")
        return out

    def to_value(self) -> dict[str, Any]:
        return _drop_none(
            {
                "application": self.application,
                "candidates": list(self.candidates) if self.candidates else None,
                "charter": self.charter.to_value() if self.charter else None,
                "closes": self.closes,
                "kind": self.kind.value,
                "member": self.member,
                "opens": self.opens,
                "pitch": self.pitch,
                "reason": self.reason.value if self.reason else None,
                "requester": self.requester.to_value() if self.requester else None,
                "role": self.role,
                "text": self.text,
            }
        )

    def platform_ids(self) -> tuple[PlatformId, ...]:
        # An unblock names a requester the log blocks already, in the log's form.
        if self.kind is ProposalKind.BLOCK and self.requester is not None:
            return (_requester_id(self.requester),)
        return ()

    @property
    def choices(self) -> tuple[str, ...]:
        """The choices a ballot may name on this proposal."""
        if self.kind is ProposalKind.IDEA:
            return ("down", "up")
        if self.kind is ProposalKind.ELECT:
            return (*self.candidates, "abstain")
        return ("abstain", "no", "yes")


@dataclass(frozen=True, slots=True, kw_only=True)
class Ballot(Body):
    """A member's choice on a proposal; their latest one before the close counts."""

    TYPE: ClassVar[RecordType] = RecordType.BALLOT
    SIGNER: ClassVar[Signer] = Signer.MEMBER
    CITES: ClassVar[tuple[str, ...]] = ("proposal",)
    ORDER_FREE: ClassVar[bool] = True
    FORGETTABLE: ClassVar[bool] = True

    proposal: bytes
    choice: str

    @classmethod
    def from_value(cls, value: object) -> Ballot:
        f = _Fields(value, "body")
        choice = f.raw("choice")
        if type(choice) is not str:
            raise InvalidRecord(f"body.choice must be text, got {_kind(choice)}")
        _choice(choice, "body.choice")
        out = cls(choice=choice, proposal=f.digest("proposal") or b"")
        f.done()
        return out

    def to_value(self) -> dict[str, Any]:
        return {"choice": self.choice, "proposal": self.proposal}


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision(Body):
    """The co-op's signed tally of a closed proposal; anyone can recompute it."""

    TYPE: ClassVar[RecordType] = RecordType.DECISION
    SIGNER: ClassVar[Signer] = Signer.COOP
    CITES: ClassVar[tuple[str, ...]] = ("proposal", "charter")

    proposal: bytes
    result: str
    counts: tuple[tuple[str, int], ...]
    quorum_met: bool
    charter: bytes
    roster_size: int
    roster_root: bytes
    ballots: int
    ballots_root: bytes
    winner: str | None = None
    #: Under a charter with delegation (and only then): the votes counted by delegation, and
    #: the RFC 6962 root over the ids of the delegations that cast them (governance.md §6).
    delegated: int | None = None
    delegations_root: bytes | None = None

    RESULTS: ClassVar[tuple[str, ...]] = (
        "elected",
        "launched",
        "no_quorum",
        "not_launched",
        "passed",
        "rejected",
        "tied",
    )

    @classmethod
    def from_value(cls, value: object) -> Decision:
        f = _Fields(value, "body")
        c = _Fields(f.raw("counts"), "body.counts")
        counts = []
        for key in sorted(c.value, key=lambda k: k.encode() if type(k) is str else b""):
            _choice(key, f"body.counts[{key!r}]")
            counts.append((key, _int(c.integer(key, lo=0, hi=10_000_000))))
        c.done()
        out = cls(
            ballots=_int(f.integer("ballots", lo=0, hi=10_000_000)),
            ballots_root=f.digest("ballots_root") or b"",
            charter=f.digest("charter") or b"",
            counts=tuple(counts),
            delegated=f.integer("delegated", lo=0, hi=10_000_000, required=False),
            delegations_root=f.digest("delegations_root", required=False),
            proposal=f.digest("proposal") or b"",
            quorum_met=bool(f.boolean("quorum_met")),
            result=f.choice("result", cls.RESULTS) or "",
            roster_size=_int(f.integer("roster_size", lo=1, hi=10_000_000)),
            roster_root=f.digest("roster_root") or b"",
            winner=f.did("winner", required=False),
        )
        f.done()
        if (out.result == "elected") != (out.winner is not None):
            raise InvalidRecord("body.winner is given exactly when the result is 'elected'")
        if (out.delegated is None) != (out.delegations_root is None):
            raise InvalidRecord("body.delegated and body.delegations_root go together")
        if sum(n for _, n in out.counts) != out.ballots + (out.delegated or 0):
            raise InvalidRecord("body.counts must add up to body.ballots (plus body.delegated)")
        return out

    def to_value(self) -> dict[str, Any]:
        return _drop_none(
            {
                "ballots": self.ballots,
                "ballots_root": self.ballots_root,
                "charter": self.charter,
                "counts": dict(self.counts),
                "delegated": self.delegated,
                "delegations_root": self.delegations_root,
                "proposal": self.proposal,
                "quorum_met": self.quorum_met,
                "result": self.result,
                "roster_root": self.roster_root,
                "roster_size": self.roster_size,
                "winner": self.winner,
            }
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Block(Body):
    """The co-op blocks a requester, on a decision or on flags that crossed the charter's rule."""

    TYPE: ClassVar[RecordType] = RecordType.BLOCK
    SIGNER: ClassVar[Signer] = Signer.COOP
    CITES: ClassVar[tuple[str, ...]] = ("decision", "flags")

    requester: RequesterRef
    reason: FlagReason
    provisional: bool
    review: int
    decision: bytes | None = None
    flags: tuple[bytes, ...] = ()
    note: str | None = None

    @classmethod
    def from_value(cls, value: object) -> Block:
        f = _Fields(value, "body")
        flags = [
            _digest(x, f"body.flags[{i}]")
            for i, x in enumerate(f.array("flags", min_len=1, max_len=1000, required=False) or [])
        ]
        _strictly_sorted(flags, lambda x: x, "body.flags")
        out = cls(
            decision=f.digest("decision", required=False),
            flags=tuple(flags),
            note=f.text("note", max_len=1000, required=False),
            provisional=bool(f.boolean("provisional")),
            reason=f.enum("reason", FlagReason) or FlagReason.OTHER,
            requester=_req(f.requester("requester")),
            review=_int(f.integer("review", lo=MIN_TS, hi=MAX_TS)),
        )
        f.done()
        if (out.decision is None) == (not out.flags):
            raise InvalidRecord("a block's evidence is a decision or flags, exactly one")
        if out.provisional != bool(out.flags):
            raise InvalidRecord("a block on flags is provisional; a block on a decision is not")
        return out

    def to_value(self) -> dict[str, Any]:
        return _drop_none(
            {
                "decision": self.decision,
                "flags": list(self.flags) if self.flags else None,
                "note": self.note,
                "provisional": self.provisional,
                "reason": self.reason.value,
                "requester": self.requester.to_value(),
                "review": self.review,
            }
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Unblock(Body):
    """The co-op ends a block: by decision, at review, or because its flags expired or went."""

    TYPE: ClassVar[RecordType] = RecordType.UNBLOCK
    SIGNER: ClassVar[Signer] = Signer.COOP
    CITES: ClassVar[tuple[str, ...]] = ("block", "decision")

    requester: RequesterRef
    block: bytes
    why: str
    decision: bytes | None = None

    @classmethod
    def from_value(cls, value: object) -> Unblock:
        f = _Fields(value, "body")
        out = cls(
            block=f.digest("block") or b"",
            decision=f.digest("decision", required=False),
            requester=_req(f.requester("requester")),
            why=f.choice("why", ("decision", "expired", "retracted", "review")) or "",
        )
        f.done()
        if (out.why == "decision") != (out.decision is not None):
            raise InvalidRecord("body.decision is given exactly when why is 'decision'")
        return out

    def to_value(self) -> dict[str, Any]:
        return _drop_none(
            {
                "block": self.block,
                "decision": self.decision,
                "requester": self.requester.to_value(),
                "why": self.why,
            }
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Follow:
    coop: str
    url: str | None = None

    def to_value(self) -> dict[str, Any]:
        return _drop_none({"coop": self.coop, "url": self.url})


@dataclass(frozen=True, slots=True, kw_only=True)
class AdoptRule:
    """Adopt a block when at least ``k`` of the co-ops in ``sources`` block the requester."""

    sources: tuple[str, ...]
    k: int

    def to_value(self) -> dict[str, Any]:
        return {"from": list(self.sources), "k": self.k}


@dataclass(frozen=True, slots=True, kw_only=True)
class FederationPolicy(Body):
    """Whom the co-op follows, whose blocks it adopts by which rule, and its local overrides."""

    TYPE: ClassVar[RecordType] = RecordType.FEDERATION_POLICY
    SIGNER: ClassVar[Signer] = Signer.COOP
    CITES: ClassVar[tuple[str, ...]] = ("decision",)

    follow: tuple[Follow, ...]
    adopt: tuple[AdoptRule, ...]
    allow: tuple[RequesterRef, ...] = ()
    drafts: bool = False
    decision: bytes | None = None

    @classmethod
    def from_value(cls, value: object) -> FederationPolicy:
        f = _Fields(value, "body")
        follows = []
        for i, item in enumerate(f.array("follow", max_len=1000) or []):
            g = _Fields(item, f"body.follow[{i}]")
            follows.append(
                Follow(
                    coop=g.did("coop") or "",
                    url=g.text("url", max_len=300, required=False, one_line=True),
                )
            )
            g.done()
        _strictly_sorted(follows, lambda x: x.coop.encode(), "body.follow")
        followed = {x.coop for x in follows}
        rules = []
        for i, item in enumerate(f.array("adopt", max_len=100) or []):
            g = _Fields(item, f"body.adopt[{i}]")
            srcs = g.array("from", min_len=1, max_len=1000) or []
            sources = [_did(s, f"body.adopt[{i}].from[{j}]") for j, s in enumerate(srcs)]
            _strictly_sorted(sources, lambda s: s.encode(), f"body.adopt[{i}].from")
            k = _int(g.integer("k", lo=1, hi=len(sources)))
            g.done()
            missing = [s for s in sources if s not in followed]
            if missing:
                raise InvalidRecord(
                    f"body.adopt[{i}] adopts from co-ops it does not follow: {', '.join(missing)}"
                )
            rules.append(AdoptRule(sources=tuple(sources), k=k))
        allow = [
            RequesterRef.from_value(a, f"body.allow[{i}]")
            for i, a in enumerate(f.array("allow", max_len=10_000, required=False) or [])
        ]
        _strictly_sorted(allow, lambda r: (r.platform.encode(), r.id.encode()), "body.allow")
        out = cls(
            adopt=tuple(rules),
            allow=tuple(allow),
            decision=f.digest("decision", required=False),
            drafts=bool(f.boolean("drafts", required=False)),
            follow=tuple(follows),
        )
        if "drafts" in f.value and f.value["drafts"] is False:
            raise InvalidRecord("body.drafts is omitted when false (one encoding per value)")
        if "allow" in f.value and f.value["allow"] == []:
            raise InvalidRecord("body.allow is omitted when empty (one encoding per value)")
        f.done()
        return out

    def to_value(self) -> dict[str, Any]:
        return _drop_none(
            {
                "adopt": [r.to_value() for r in self.adopt],
                "allow": [a.to_value() for a in self.allow] if self.allow else None,
                "decision": self.decision,
                "drafts": True if self.drafts else None,
                "follow": [x.to_value() for x in self.follow],
            }
        )


# --------------------------------------------------------------------------- deliberation
# and delegation (spec/deliberation.md, governance.md §6)


@dataclass(frozen=True, slots=True, kw_only=True)
class Comment(Body):
    """A member's word on a proposal, for members only: a reply, or the reason for a ballot.

    ``parent`` threads it under another comment on the same proposal; ``ballot`` makes it
    the reason its author gives for that ballot of theirs. Never both.
    """

    TYPE: ClassVar[RecordType] = RecordType.COMMENT
    SIGNER: ClassVar[Signer] = Signer.MEMBER
    # ``parent`` names a members-only comment, not a record of the log: it is no citation.
    CITES: ClassVar[tuple[str, ...]] = ("proposal", "ballot")
    MEMBERS_ONLY: ClassVar[bool] = True

    proposal: bytes
    text: str
    parent: bytes | None = None
    ballot: bytes | None = None

    @classmethod
    def from_value(cls, value: object) -> Comment:
        f = _Fields(value, "body")
        out = cls(
            ballot=f.digest("ballot", required=False),
            parent=f.digest("parent", required=False),
            proposal=f.digest("proposal") or b"",
            text=f.text("text", max_len=4000) or "",
        )
        f.done()
        if out.parent is not None and out.ballot is not None:
            raise InvalidRecord(
                "a comment replies to a comment or gives a ballot's reason, not both"
            )
        return out

    def to_value(self) -> dict[str, Any]:
        return _drop_none(
            {
                "ballot": self.ballot,
                "parent": self.parent,
                "proposal": self.proposal,
                "text": self.text,
            }
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome(Body):
    """The proposal's author says, in the log, what came of a decision; the latest one holds."""

    TYPE: ClassVar[RecordType] = RecordType.OUTCOME
    SIGNER: ClassVar[Signer] = Signer.MEMBER
    CITES: ClassVar[tuple[str, ...]] = ("decision",)
    ORDER_FREE: ClassVar[bool] = True
    FORGETTABLE: ClassVar[bool] = True

    decision: bytes
    text: str

    @classmethod
    def from_value(cls, value: object) -> Outcome:
        f = _Fields(value, "body")
        out = cls(decision=f.digest("decision") or b"", text=f.text("text", max_len=4000) or "")
        f.done()
        return out

    def to_value(self) -> dict[str, Any]:
        return {"decision": self.decision, "text": self.text}


@dataclass(frozen=True, slots=True, kw_only=True)
class Delegation(Body):
    """A member lets another member's ballot count for them (``to``), or ends that (no ``to``).

    Their latest delegation is in force; it counts only when the charter allows delegation,
    and only on proposals that enter the log while it is in force (governance.md §6).
    """

    TYPE: ClassVar[RecordType] = RecordType.DELEGATION
    SIGNER: ClassVar[Signer] = Signer.MEMBER
    FORGETTABLE: ClassVar[bool] = True

    to: str | None = None

    @classmethod
    def from_value(cls, value: object) -> Delegation:
        f = _Fields(value, "body")
        out = cls(to=f.did("to", required=False))
        f.done()
        return out

    def to_value(self) -> dict[str, Any]:
        return _drop_none({"to": self.to})


# --------------------------------------------------------------------------- task reports
# (spec/records.md §4.23, pay.md, privacy.md)


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskReport(Body):
    """A member's report of one task (a study, a HIT group, a pool), or of its approval later.

    The first report says what the task paid, how long it took (a coarse bucket) and how it
    ended, on the UTC ``day`` it was done; it is signed on a later day (state.md §3). A
    later report by the same member ``follows`` it with the approval. Nothing in it is
    exact enough for the requester, who sees every participant's times, to pick the member
    out by (privacy.md): no time of day, no exact duration, no bonus, no platform account.
    """

    TYPE: ClassVar[RecordType] = RecordType.TASK_REPORT
    SIGNER: ClassVar[Signer] = Signer.MEMBER
    CITES: ClassVar[tuple[str, ...]] = ("follows",)
    ABOUT_REQUESTER: ClassVar[bool] = True
    RETRACTABLE: ClassVar[bool] = True
    ORDER_FREE: ClassVar[bool] = True
    FORGETTABLE: ClassVar[bool] = True

    requester: RequesterRef
    task: str
    # The first report.
    day: int | None = None
    reward: int | None = None
    currency: str | None = None
    count: int | None = None
    minutes: int | None = None
    outcome: str | None = None
    reasons: tuple[str, ...] = ()
    progress: int | None = None
    screen_out_pay: int | None = None
    title: str | None = None
    # A later report of the approval.
    follows: bytes | None = None
    approval: str | None = None
    approval_days: int | None = None
    # Either.
    name: str | None = None
    note: str | None = None

    #: The fields of a first report, and those of a later one (besides the shared ones).
    FIRST: ClassVar[tuple[str, ...]] = (
        "count", "currency", "day", "minutes", "outcome", "progress", "reasons", "reward",
        "screen_out_pay", "title",
    )  # fmt: skip
    LATER: ClassVar[tuple[str, ...]] = ("approval", "approval_days", "follows")

    @classmethod
    def from_value(cls, value: object) -> TaskReport:
        f = _Fields(value, "body")
        later = "follows" in f.value
        present = [k for k in (cls.FIRST if later else cls.LATER) if k in f.value]
        if present:
            what = "a report of an approval (with follows)" if later else "a first report"
            raise InvalidRecord(f"{what} has no {', '.join(present)}")
        raw_reasons = f.array("reasons", min_len=1, max_len=len(REPORT_REASONS), required=False)
        reasons = [
            _of_choice(r, REPORT_REASONS, f"body.reasons[{i}]")
            for i, r in enumerate(raw_reasons or [])
        ]
        _strictly_sorted(reasons, lambda r: r.encode(), "body.reasons")
        out = cls(
            approval=f.choice("approval", APPROVALS, required=later),
            approval_days=f.bucket("approval_days", APPROVAL_DAY_BUCKETS, required=later),
            count=f.integer("count", lo=2, hi=10_000, required=False),
            currency=f.currency("currency", required=not later),
            day=f.integer("day", lo=MIN_TS // DAY_MS, hi=MAX_TS // DAY_MS, required=not later),
            follows=f.digest("follows", required=False),
            minutes=f.bucket("minutes", MINUTE_BUCKETS, required=not later),
            name=_name(f),
            note=f.text("note", max_len=1000, required=False),
            outcome=f.choice("outcome", REPORT_OUTCOMES, required=not later),
            progress=f.bucket("progress", PROGRESS_BUCKETS, required=False),
            reasons=tuple(reasons),
            requester=_req(f.requester("requester")),
            reward=f.integer("reward", lo=0, hi=100_000_000, required=not later),
            screen_out_pay=f.integer("screen_out_pay", lo=0, hi=100_000_000, required=False),
            task=f.text("task", max_len=128, pattern=_REQUESTER_ID_RE) or "",
            title=f.text("title", max_len=200, required=False, one_line=True),
        )
        f.done()
        if out.outcome == "returned" and not out.reasons:
            raise InvalidRecord("a returned task says why in body.reasons")
        if out.progress is not None and out.outcome != "returned":
            raise InvalidRecord("body.progress goes with the outcome 'returned'")
        if out.screen_out_pay is not None and out.outcome != "screened_out_paid":
            raise InvalidRecord("body.screen_out_pay goes with the outcome 'screened_out_paid'")
        if any(r.endswith("other") for r in out.reasons) and not out.note:
            raise InvalidRecord("a reason '…other' says what in body.note")
        return out

    def to_value(self) -> dict[str, Any]:
        return _drop_none(
            {
                "approval": self.approval,
                "approval_days": self.approval_days,
                "count": self.count,
                "currency": self.currency,
                "day": self.day,
                "follows": self.follows,
                "minutes": self.minutes,
                "name": self.name,
                "note": self.note,
                "outcome": self.outcome,
                "progress": self.progress,
                "reasons": list(self.reasons) if self.reasons else None,
                "requester": self.requester.to_value(),
                "reward": self.reward,
                "screen_out_pay": self.screen_out_pay,
                "task": self.task,
                "title": self.title,
            }
        )

    def platform_ids(self) -> tuple[PlatformId, ...]:
        task = PlatformId(self.requester.platform, "task", self.task, "body.task")
        return (_requester_id(self.requester), task)

    @property
    def submissions(self) -> int:
        """How many submissions the first report covers (``count``, else one)."""
        return 1 if self.count is None else self.count


def _of_choice(v: object, options: tuple[str, ...], path: str) -> str:
    if type(v) is not str or v not in options:
        raise InvalidRecord(f"{path} must be one of: {', '.join(options)}; got {v!r}")
    return options[options.index(v)]


BODY_TYPES: Final[Mapping[RecordType, type[Body]]] = {
    cls.TYPE: cls
    for cls in (
        Charter,
        MemberApply,
        MemberAdmit,
        MemberResign,
        MemberRevoke,
        RoleAssign,
        Rating,
        Flag,
        Appeal,
        Reply,
        RequesterKey,
        RequesterAlias,
        Retraction,
        Proposal,
        Ballot,
        Decision,
        Block,
        Unblock,
        FederationPolicy,
        Comment,
        Outcome,
        Delegation,
        TaskReport,
    )
}
assert set(BODY_TYPES) == set(RecordType)

#: Record types derived from the body classes' traits.
REQUESTER_TYPES: Final = frozenset(t for t, c in BODY_TYPES.items() if c.ABOUT_REQUESTER)
RETRACTABLE_TYPES: Final = frozenset(t for t, c in BODY_TYPES.items() if c.RETRACTABLE)
MEMBERS_ONLY_TYPES: Final = frozenset(t for t, c in BODY_TYPES.items() if c.MEMBERS_ONLY)
#: Signed by the co-op's own key, and never by it (records.md §3; a proposal may be either).
COOP_SIGNED_TYPES: Final = frozenset(t for t, c in BODY_TYPES.items() if c.SIGNER is Signer.COOP)
NOT_COOP_SIGNED_TYPES: Final = frozenset(
    t
    for t, c in BODY_TYPES.items()
    if c.SIGNER in (Signer.MEMBER, Signer.APPLICANT, Signer.REQUESTER)
)
