"""The platforms coopfed knows: their words, their ids' one canonical form, their addresses.

The table is data (spec/platforms.json, through the generated :mod:`._platforms`);
spec/platforms.md is its normative text. Three things are built on it:

- :func:`canonical_id` (and :func:`canonical_requester`, :func:`canonical_task`): an id as
  typed, in its platform's one form (``mturk:a3jh8w2n5r6t0y`` is ``mturk:A3JH8W2N5R6T0Y``),
  or a :class:`~.errors.PlatformInputError` that says what the id should look like;
- :func:`parse_pasted`: whatever a member pastes — a requester's or a task's page, a study
  link, ``Prolific:5F0C…`` — as ``(platform, kind, id)``, keeping nothing else of it: a
  worker's own ids in the address (``PROLIFIC_PID``, ``workerId``, …) are dropped and only
  their names are reported, so a client can say it dropped them;
- :func:`check_platform_ids`: the record rule (platforms.md §4) — a record that names a
  known platform's requester or task in another form is refused (``non_canonical_id``).

Platforms not in the table keep the general rules of records.md (an id of 1–128 printable
ASCII characters), so a co-op can name any platform.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final

from ._platforms import TABLE
from .bodies import (
    _PLATFORM_RE,
    _REQUESTER_ID_RE,
    REQUESTER_CACHE_SIZE,
    Body,
    PlatformId,
    RequesterRef,
    TaskReport,
    _requester_ref,
)
from .errors import InvalidRecord, LocalProtocolError, PlatformInputError

__all__ = [
    "CURRENCIES",
    "EARLIEST_RULE",
    "ID_KINDS",
    "MAX_PASTE",
    "NOT_PLATFORMS",
    "NOT_PLATFORMS_FROM",
    "PLATFORMS",
    "WORKER_PARAMS",
    "Address",
    "Currency",
    "IdRule",
    "Pasted",
    "Platform",
    "Words",
    "canonical_id",
    "canonical_requester",
    "canonical_task",
    "check_platform_ids",
    "parse_pasted",
    "resolve_platform",
]

#: What an id names on a platform.
ID_KINDS: Final = ("requester", "task", "batch")
#: Longer input is not read (an address with every tracking parameter is far shorter).
MAX_PASTE: Final = 4096
#: What is stripped from both ends of pasted text: ASCII white space, the no-break spaces,
#: the zero-width space and the byte-order mark (the same set in paste.js).
_STRIP: Final = " \t\n\r\f\v\u00a0\u2007\u202f\u200b\ufeff"
_PERCENT_RE: Final = re.compile(r"%([0-7][0-9A-Fa-f])")


def _ms(day: str) -> int:
    """Unix milliseconds of the start (UTC) of an ISO date."""
    moment = datetime.fromisoformat(day).replace(tzinfo=UTC)
    return int(moment.timestamp()) * 1000


@dataclass(frozen=True, slots=True)
class IdRule:
    """The one form of a kind of id: its alphabet, in one case, and its length."""

    alphabet: str
    case: str  # "lower", "upper" or "none"
    min_len: int
    max_len: int
    example: str

    def canonical(self, text: str) -> str | None:
        """``text`` in this form (its case changed), or None if it has no such form."""
        if not text.isascii():
            return None
        out = {"lower": text.lower, "upper": text.upper}.get(self.case, lambda: text)()
        if not self.min_len <= len(out) <= self.max_len:
            return None
        if any(c not in self.alphabet for c in out):
            return None
        return out

    def describe(self) -> str:
        """For people: ``24 characters of 0-9 and a-f``."""
        if self.min_len == self.max_len:
            size = f"{self.min_len} characters"
        else:
            size = f"{self.min_len} to {self.max_len} characters"
        runs: list[str] = []
        chars = self.alphabet
        i = 0
        while i < len(chars):
            j = i
            while j + 1 < len(chars) and ord(chars[j + 1]) == ord(chars[j]) + 1:
                j += 1
            runs.append(chars[i] if i == j else f"{chars[i]}-{chars[j]}")
            i = j + 1
        return f"{size} of {' and '.join(runs) if len(runs) < 3 else ', '.join(runs)}"


@dataclass(frozen=True, slots=True)
class Words:
    """What the platform calls a requester and a task (and a batch, where it has them)."""

    requester: str
    requesters: str
    task: str
    tasks: str
    batch: str | None = None
    batches: str | None = None

    def of(self, kind: str) -> str:
        return {"requester": self.requester, "task": self.task}.get(kind) or self.batch or kind


@dataclass(frozen=True, slots=True)
class Address:
    """Pages of a platform an id is read from: hosts, a path template, query parameters."""

    #: Host names (``*.toloka.ai`` covers its subdomains); ``("*",)``: any host, when the
    #: query holds the parameter ``when``.
    hosts: tuple[str, ...]
    #: Path segments matched from the start: a literal (any case), ``*`` (any one segment)
    #: or ``{kind}``, which captures the id. Further segments may follow.
    path: tuple[str, ...]
    #: ``(parameter, kind)`` pairs tried in order when the path captures nothing.
    query: tuple[tuple[str, str], ...] = ()
    when: str | None = None

    def serves(self, host: str) -> bool:
        return any(
            h == host or (h.startswith("*.") and host.endswith(h[1:]) and len(host) > len(h) - 1)
            for h in self.hosts
            if h != "*"
        )

    def read(self, segments: list[str], query: Mapping[str, str]) -> tuple[str, str] | None:
        """``(kind, id as written)`` if this address holds one, else None."""
        if len(segments) < len(self.path):
            return None
        for part, seg in zip(self.path, segments, strict=False):
            if part.startswith("{"):
                return part[1:-1], seg
            if part != "*" and part.lower() != seg.lower():
                return None
        for param, kind in self.query:
            value = query.get(param, "").strip(_STRIP)
            if value:
                return kind, value
        return None


@dataclass(frozen=True, slots=True)
class Currency:
    """An ISO 4217 currency: digits after the point, and its symbol."""

    code: str
    exponent: int
    symbol: str


@dataclass(frozen=True, slots=True)
class Platform:
    """One platform of the table."""

    key: str
    name: str
    aliases: tuple[str, ...]
    #: The day it closed (ISO date), if it did: records about it are history.
    closed: str | None
    #: Records signed at or after this time (Unix ms) follow its id rules (platforms.md §4).
    strict_from: int
    words: Words
    currencies: tuple[str, ...]
    ids: tuple[tuple[str, IdRule | None], ...]
    addresses: tuple[Address, ...]

    def rule(self, kind: str) -> IdRule | None:
        """The form of its ids of ``kind``; None when no form is known (any id, as records.md)."""
        for k, rule in self.ids:
            if k == kind:
                return rule
        return None

    @property
    def hosts(self) -> frozenset[str]:
        return frozenset(h for a in self.addresses for h in a.hosts if h != "*")


def _load(table: Mapping[str, Any]) -> dict[str, Platform]:
    out = {}
    for key, p in table["platforms"].items():
        ids = []
        for kind, r in p["ids"].items():
            if kind not in ID_KINDS:
                raise LocalProtocolError(f"platform {key}: unknown id kind {kind!r}")
            rule = None
            if r is not None:
                rule = IdRule(r["alphabet"], r["case"], r["min"], r["max"], r["example"])
                if rule.canonical(rule.example) != rule.example:
                    raise LocalProtocolError(f"platform {key}: the {kind} example breaks its rule")
            ids.append((kind, rule))
        addresses = tuple(
            Address(
                hosts=tuple(a["hosts"]),
                path=tuple(s for s in a["path"].split("/") if s),
                query=tuple((q, k) for q, k in a.get("query", [])),
                when=a.get("when"),
            )
            for a in p["addresses"]
        )
        out[key] = Platform(
            key=key,
            name=p["name"],
            aliases=tuple(p["aliases"]),
            closed=p["closed"],
            strict_from=_ms(p["strict_from"]),
            words=Words(**p["words"]),
            currencies=tuple(p["currencies"]),
            ids=tuple(ids),
            addresses=addresses,
        )
    return out


#: The known platforms by key, in the table's order.
PLATFORMS: Final[Mapping[str, Platform]] = MappingProxyType(_load(TABLE))
#: Names that are never platforms: the start of an address read as ``platform:id``.
NOT_PLATFORMS: Final = frozenset(TABLE["not_platforms"])
NOT_PLATFORMS_FROM: Final = _ms(TABLE["not_platforms_from"])
#: Query parameters that carry a worker's own ids: dropped from any address, named in
#: :attr:`Pasted.removed`.
WORKER_PARAMS: Final = tuple(TABLE["worker_params"])
CURRENCIES: Final[Mapping[str, Currency]] = MappingProxyType(
    {c: Currency(c, v["exponent"], v["symbol"]) for c, v in TABLE["currencies"].items()}
)
#: The earliest time any platform rule applies from: records signed before it skip them all.
EARLIEST_RULE: Final = min([NOT_PLATFORMS_FROM, *(p.strict_from for p in PLATFORMS.values())])
_ALIASES: Final = {a: k for k, p in PLATFORMS.items() for a in p.aliases}
_WORKER_PARAMS_LOWER: Final = {w.lower(): w for w in WORKER_PARAMS}


def _fail(code: str, message: str) -> PlatformInputError:
    return PlatformInputError(message, code=code)


def _shown(text: str, limit: int = 40) -> str:
    """Text a person typed, quoted for a message: cut, and no control characters."""
    cut = text if len(text) <= limit else text[: limit - 1] + "…"
    return repr(cut)


def resolve_platform(text: str) -> str:
    """A platform as typed (any case, an alias) → its key; unknown platforms pass as typed.

    ``not_platform_id`` when it cannot be a platform's name.
    """
    name = text.strip(_STRIP)
    key = _ascii_lower(name)
    key = _ALIASES.get(key, key)
    if key in NOT_PLATFORMS:
        raise _fail(
            "not_platform_id",
            f"{_shown(name)} is the start of an address, not a platform: paste the whole "
            "address, or type platform:id",
        )
    if _PLATFORM_RE.fullmatch(key) is None:
        raise _fail(
            "not_platform_id",
            f"{_shown(name)} is not a platform: a platform is a short name such as "
            f"{', '.join(PLATFORMS)}",
        )
    return key


def _word(platform: str, kind: str) -> str:
    """``a Prolific researcher``, ``an Amazon Mechanical Turk requester``: for messages."""
    p = PLATFORMS.get(platform)
    word = f"{p.name} {p.words.of(kind)}" if p is not None else f"{platform} {kind}"
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def canonical_id(platform: str, kind: str, text: str) -> str:
    """``text`` as an id of ``kind`` on ``platform``, in its canonical form.

    White space around it is dropped and the platform's case applied; an id that still does
    not fit the platform's alphabet and length (or, on a platform the table does not
    know, is not 1–128 printable ASCII characters) raises ``bad_platform_id``.
    """
    if kind not in ID_KINDS:
        raise LocalProtocolError(f"kind is one of {ID_KINDS}, got {kind!r}")
    key = resolve_platform(platform)
    rid = text.strip(_STRIP)
    p = PLATFORMS.get(key)
    rule = p.rule(kind) if p is not None else None
    if rule is not None:
        out = rule.canonical(rid)
        if out is None:
            raise _fail(
                "bad_platform_id",
                f"{_word(key, kind)} id is {rule.describe()}, as {rule.example}; "
                f"{_shown(rid)} is not one",
            )
        return out
    if _REQUESTER_ID_RE.fullmatch(rid) is None:
        raise _fail(
            "bad_platform_id",
            f"{_word(key, kind)} id is 1 to 128 printable characters with no spaces; "
            f"{_shown(rid)} is not one",
        )
    return rid


def canonical_requester(platform: str, text: str) -> RequesterRef:
    """A requester as typed, canonical: see :func:`canonical_id`."""
    key = resolve_platform(platform)
    return _requester_ref(key, canonical_id(key, "requester", text))


def canonical_task(platform: str, text: str) -> str:
    """A task id (study, HIT group, pool, project) as typed, canonical."""
    return canonical_id(platform, "task", text)


@dataclass(frozen=True, slots=True)
class Pasted:
    """What :func:`parse_pasted` read: one id on one platform, and nothing else."""

    platform: str
    kind: str
    id: str
    #: Worker-id parameters the address held (names only, as the table spells them): the
    #: member's own ids, dropped. A client says so.
    removed: tuple[str, ...] = ()

    @property
    def requester(self) -> RequesterRef:
        if self.kind != "requester":
            raise LocalProtocolError(f"this names a {self.kind}, not a requester")
        return _requester_ref(self.platform, self.id)

    def __str__(self) -> str:
        return f"{self.platform}:{self.id}"


def _unpercent(text: str) -> str:
    # Only ASCII escapes are decoded: an id is ASCII, and anything else stays as sent.
    return _PERCENT_RE.sub(lambda m: chr(int(m.group(1), 16)), text)


def _split_address(rest: str) -> tuple[str, list[str], list[tuple[str, str]]]:
    """``host[:port]/path?query#fragment`` (no scheme) → host, path segments, query pairs."""
    rest = rest.split("#", 1)[0]
    before, _, query = rest.partition("?")
    slash = before.find("/")
    authority, path = (before, "") if slash < 0 else (before[:slash], before[slash:])
    host = _ascii_lower(_without_port(authority.rsplit("@", 1)[-1])).rstrip(".")
    segments = [_unpercent(s) for s in path.split("/") if s]
    pairs = []
    for item in query.split("&"):
        if item:
            k, _, v = item.partition("=")
            pairs.append((_unpercent(k.replace("+", " ")), _unpercent(v.replace("+", " "))))
    return host, segments, pairs


def _without_port(host: str) -> str:
    """``host`` less a final ``:digits`` (none, too), unless it ends an IPv6 literal."""
    i = host.rfind(":")
    if i < 0 or host.endswith("]") or any(c not in "0123456789" for c in host[i + 1 :]):
        return host
    return host[:i]


def _ascii_lower(text: str) -> str:
    # Only ASCII text is folded: str.lower() and JavaScript's toLowerCase() differ beyond it.
    return text.lower() if text.isascii() else text


def _looks_like_host(text: str) -> bool:
    """Whether ``text`` starts with a host of the table (an address pasted without https://)."""
    head = _ascii_lower(_without_port(re.split(r"[/?#]", text, maxsplit=1)[0]))
    return any(a.serves(head) for p in PLATFORMS.values() for a in p.addresses)


def parse_pasted(text: str, *, kind: str = "requester") -> Pasted:
    """Read what a member pasted or typed: a page's address, or ``platform:id``.

    An address is read by the table (platforms.md §5): the page gives the id and its kind.
    ``platform:id`` (the platform in any case, white space around either part) gives an id
    of ``kind``. Either way the id is made canonical. Raises :class:`PlatformInputError`:
    ``no_id_in_address`` (a known platform's page with no id in it), ``unknown_address``
    (a site the table does not know), ``not_platform_id`` (neither an address nor
    ``platform:id``) or ``bad_platform_id`` (an id that is not one). Messages never repeat
    an address's query, where a worker's own ids may be.
    """
    if kind not in ID_KINDS:
        raise LocalProtocolError(f"kind is one of {ID_KINDS}, got {kind!r}")
    if type(text) is not str:
        raise LocalProtocolError(f"parse_pasted takes text, not {type(text).__name__}")
    t = text.strip(_STRIP)
    if len(t) > MAX_PASTE:
        raise _fail("not_platform_id", f"this is {len(t)} characters: too long to be an id")
    if not t:
        raise _fail(
            "not_platform_id",
            "nothing to read: paste the address of a requester's or a task's page, or type "
            "platform:id",
        )
    low = t[:8].lower()
    if low.startswith(("http://", "https://")):
        return _parse_address(t.split("://", 1)[1])
    if _looks_like_host(t):
        return _parse_address(t)
    platform, sep, rid = t.partition(":")
    if not sep:
        raise _fail(
            "not_platform_id",
            "type the platform and the id, as prolific:5f0c3b1e2d9a8c7b6a5f4e3d, or paste "
            "the address of the page",
        )
    key = resolve_platform(platform)
    return Pasted(platform=key, kind=kind, id=canonical_id(key, kind, rid))


def _parse_address(rest: str) -> Pasted:
    host, segments, pairs = _split_address(rest)
    query: dict[str, str] = {}
    removed: list[str] = []
    for k, v in pairs:
        query.setdefault(k, v)
        name = _WORKER_PARAMS_LOWER.get(k.lower())
        if name is not None and name not in removed:
            removed.append(name)
    known = None
    for key, p in PLATFORMS.items():
        for a in p.addresses:
            if not a.serves(host):
                continue
            known = known or key
            found = a.read(segments, query)
            if found is not None:
                kind, rid = found
                return Pasted(key, kind, canonical_id(key, kind, rid), tuple(removed))
    if known is not None:
        p = PLATFORMS[known]
        raise _fail(
            "no_id_in_address",
            f"this is a {p.name} address, but no {p.words.requester} or {p.words.task} id "
            f"is in it: open the {p.words.task}'s own page and paste its address, or type "
            f"{known}:id",
        )
    for key, p in PLATFORMS.items():
        for a in p.addresses:
            if a.hosts == ("*",) and a.when is not None and a.when in query:
                found = a.read(segments, query)
                if found is not None:
                    kind, rid = found
                    return Pasted(key, kind, canonical_id(key, kind, rid), tuple(removed))
    raise _fail(
        "unknown_address",
        f"coopfed does not know the pages of {_shown(host, 60)}: paste the address of the "
        "requester's or the task's page on its platform, or type platform:id",
    )


# --------------------------------------------------------------------------- the record rule


def _applies(since: int, ts: int | None) -> bool:
    return ts is None or ts >= since


def check_platform_ids(body: Body, *, ts: int | None) -> None:
    """The platform rules of platforms.md §4 for ``body`` signed at ``ts``; None or raise.

    ``ts=None`` applies every rule, as a live node does; otherwise each platform's rules
    apply from its ``strict_from``. Raises ``InvalidRecord``: ``non_canonical_id`` for an
    id of a known platform not in its canonical form (or a platform that is the start of
    an address), ``wrong_currency`` for a task report paid in a currency its platform
    does not pay in.
    """
    for pid in body.platform_ids():
        _check_id(pid, ts)
    if isinstance(body, TaskReport) and body.currency is not None:
        p = PLATFORMS.get(body.requester.platform)
        if p is not None and _applies(p.strict_from, ts) and body.currency not in p.currencies:
            raise InvalidRecord(
                f"body.currency: {p.name} pays in {', '.join(p.currencies)}, not "
                f"{body.currency}",
                code="wrong_currency",
            )


@functools.lru_cache(maxsize=REQUESTER_CACHE_SIZE)
def _canonical_of(platform: str, kind: str, rid: str) -> str | None:
    """The canonical form of an id a record names (ids repeat: a log names few requesters)."""
    rule = PLATFORMS[platform].rule(kind)
    assert rule is not None
    return rule.canonical(rid)


def _check_id(pid: PlatformId, ts: int | None) -> None:
    if pid.platform in NOT_PLATFORMS and _applies(NOT_PLATFORMS_FROM, ts):
        raise InvalidRecord(
            f"{pid.where.rsplit('.', 1)[0]}: {pid.platform!r} is the start of an address, not "
            "a platform; read the address first (platforms.md §5)",
            code="non_canonical_id",
        )
    p = PLATFORMS.get(pid.platform)
    if p is None or not _applies(p.strict_from, ts):
        return
    rule = p.rule(pid.kind)
    if rule is None:
        return
    canonical = _canonical_of(pid.platform, pid.kind, pid.id)
    if canonical != pid.id:
        should = (
            f"write it {canonical!r}"
            if canonical is not None
            else f"{_word(pid.platform, pid.kind)} id is {rule.describe()}"
        )
        raise InvalidRecord(
            f"{pid.where} {_shown(pid.id)} is not in its canonical form: {should}",
            code="non_canonical_id",
        )
