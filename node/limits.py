"""Abuse limits: writes are rate-limited per address and per member, bodies and waits are bounded.

- Token buckets (:class:`TokenBuckets`) meter every write (POST) per client address and every
  record per member (its signing key). A refused write gets ``429`` with ``Retry-After`` and
  the usual error body (code ``rate_limited``). Buckets live in this process's memory only,
  and a bucket is forgotten as soon as it is full again, so an address is kept no longer
  than rate limiting needs (at most ``burst / rate`` seconds after its last write). IPv6
  clients are metered per /64, since one host usually holds a whole /64.
- Every request's ``Content-Length`` is checked against ``max_body`` on every route (413),
  and aiohttp's own reader enforces the same bound on bodies without one.
- Inbound waits: a connection must deliver a complete request head within
  ``header_timeout_s`` of connecting or of its previous answer (aiohttp's keep-alive timer
  closes it otherwise: the slowloris defence), and a request must be read and answered
  within ``request_timeout_s`` (408). Outbound requests take :func:`client_timeout`.
- Open connections are capped per client address (:class:`ConnectionMeter`, counted and
  refused by node/server.py), so that one address cannot hold all of the node's sockets.
  The meter holds an address only while it has a connection open.
- A query parameter given twice is refused (400), so that no route silently takes one.
- The access log format leaves out the client address (and Referer and User-Agent).
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

import aiohttp
from aiohttp import web

from coopfed.protocol.records import Record

from .api_errors import ApiError
from .config import Config

#: aiohttp access log line without ``%a`` (the client address), Referer or User-Agent.
ACCESS_LOG_FORMAT: Final = '%t "%r" %s %b %Tf'
#: Most buckets one meter keeps; past it the least recently used go first.
MAX_BUCKETS: Final = 100_000
#: Largest request line and header field aiohttp accepts, and how many header fields.
MAX_LINE: Final = 8190
MAX_HEADERS: Final = 64
WRITE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})

Clock = Callable[[], float]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class TokenBuckets:
    """One token bucket per key, in memory: ``burst`` tokens, refilled at ``rate`` per second.

    A key whose bucket has refilled completely is dropped (a full bucket and no bucket
    behave alike), so the meter only remembers keys that wrote within the last
    ``burst / rate`` seconds.
    """

    def __init__(
        self, *, rate: float, burst: int, max_keys: int = MAX_BUCKETS, clock: Clock = time.monotonic
    ) -> None:
        if rate <= 0 or burst < 1 or max_keys < 1:
            raise ValueError("a token bucket needs rate > 0, burst >= 1 and max_keys >= 1")
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._swept = clock()

    def __len__(self) -> int:
        return len(self._buckets)

    def __contains__(self, key: object) -> bool:
        return key in self._buckets

    def take(self, key: str) -> float:
        """Spend one token of ``key``: 0.0 if there was one, else the seconds until there is."""
        now = self.clock()
        self._sweep(now)
        tokens, last = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            wait = 0.0
        else:
            self._buckets[key] = (tokens, now)
            wait = (1.0 - tokens) / self.rate
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait

    def _sweep(self, now: float) -> None:
        """Forget every bucket that is full again (at most once a second; O(keys))."""
        if now - self._swept < 1.0:
            return
        self._swept = now
        full = self.burst / self.rate
        stale = [k for k, (tokens, last) in self._buckets.items() if now - last >= full]
        for k in stale:
            del self._buckets[k]


class ConnectionMeter:
    """Connections open per client address key, at most ``cap`` each (in memory only)."""

    def __init__(self, cap: int) -> None:
        if cap < 1:
            raise ValueError("a connection cap is at least 1")
        self.cap = cap
        #: Connections refused since the node started.
        self.refused = 0
        self._open: dict[str, int] = {}

    def count(self, key: str) -> int:
        return self._open.get(key, 0)

    def open(self, key: str) -> bool:
        """Count a new connection from ``key``: False (and not counted) when at the cap."""
        n = self._open.get(key, 0)
        if n >= self.cap:
            self.refused += 1
            return False
        self._open[key] = n + 1
        return True

    def close(self, key: str) -> None:
        """A counted connection closed; an address with none open is forgotten."""
        n = self._open.get(key, 0) - 1
        if n > 0:
            self._open[key] = n
        else:
            self._open.pop(key, None)


def address_key(remote: str | None) -> str:
    """The key an address is metered under: IPv4 as is, IPv6 by its /64."""
    if not remote:
        return "-"
    try:
        ip = ipaddress.ip_address(remote.strip())
    except ValueError:
        return remote[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


@dataclass
class Limits:
    """The app's meters (None: that limit is off) and its inbound bounds."""

    by_address: TokenBuckets | None
    by_member: TokenBuckets | None
    max_body: int
    request_timeout_s: float
    trust_forwarded_for: bool = False
    connections: ConnectionMeter | None = None

    @classmethod
    def from_config(cls, config: Config, *, clock: Clock = time.monotonic) -> Limits:
        def meter(rate: float, burst: int) -> TokenBuckets | None:
            return TokenBuckets(rate=rate, burst=burst, clock=clock) if rate > 0 else None

        return cls(
            by_address=meter(config.rate_address_per_s, config.rate_address_burst),
            by_member=meter(config.rate_member_per_s, config.rate_member_burst),
            max_body=config.max_body,
            request_timeout_s=config.request_timeout_s,
            trust_forwarded_for=config.trust_forwarded_for,
            connections=(
                ConnectionMeter(config.max_connections_per_address)
                if config.max_connections_per_address
                else None
            ),
        )


LIMITS: Final = web.AppKey("limits", Limits)


def server_settings(config: Config) -> dict[str, Any]:
    """Aiohttp request-handler settings (``web.Application(handler_args=...)``)."""
    return {
        # Armed at connect and after each answer; a connection still waiting for a
        # complete request head when it fires is closed.
        "keepalive_timeout": config.header_timeout_s,
        "max_line_size": MAX_LINE,
        "max_field_size": MAX_LINE,
        "max_headers": MAX_HEADERS,
        "lingering_time": min(config.header_timeout_s, 5.0),
        "access_log_format": ACCESS_LOG_FORMAT,
    }


def client_timeout(config: Config) -> aiohttp.ClientTimeout:
    """The timeout every outbound aiohttp request of the node must use."""
    total = config.outbound_timeout_s
    return aiohttp.ClientTimeout(total=total, connect=min(total, 10.0), sock_read=total)


def client_address(request: web.Request, limits: Limits) -> str:
    """The address a request is metered under (the proxy's X-Forwarded-For only if trusted)."""
    if limits.trust_forwarded_for:
        forwarded = request.headers.get("X-Forwarded-For", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return address_key(last)
    return address_key(request.remote)


def _refuse(what: str, wait: float) -> ApiError:
    seconds = max(1, math.ceil(wait))
    return ApiError(
        "rate_limited",
        f"too many writes from {what}; try again in {seconds} s",
        status=429,
        headers={"Retry-After": str(seconds)},
    )


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bound every request: its body, its time, one value per query parameter, its rate."""
    limits = request.app[LIMITS]
    query = request.query
    if len(query) != len(set(query)):
        twice = next(k for k in query if len(query.getall(k)) > 1)
        raise ApiError(
            "bad_request", f"query parameter {twice[:40]!r} is given more than once; give it once"
        )
    length = request.content_length
    if length is not None and length > limits.max_body:
        raise ApiError(
            "too_large",
            f"the body is {length} bytes; this node accepts at most {limits.max_body}",
        )
    if limits.by_address is not None and request.method in WRITE_METHODS:
        wait = limits.by_address.take(client_address(request, limits))
        if wait > 0:
            raise _refuse("this address", wait)
    try:
        async with asyncio.timeout(limits.request_timeout_s):
            return await handler(request)
    except TimeoutError:
        raise ApiError(
            "timeout",
            f"the request was not read and answered within {limits.request_timeout_s:g} s",
            status=408,
        ) from None


def charge_member(request: web.Request, raw: bytes) -> None:
    """Meter a posted record against its signer, once its signature has verified.

    Bytes that do not verify raise the protocol's own error here, exactly as submitting
    them would; only a key that really signed the record can use up that key's tokens.
    """
    limits = request.app[LIMITS]
    if limits.by_member is None:
        return
    record = Record.from_bytes(raw)
    wait = limits.by_member.take(record.author)
    if wait > 0:
        raise _refuse("this member", wait)
