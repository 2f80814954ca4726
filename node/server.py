"""The node's HTTP server: aiohttp's own refusals coded, no address logged, connections capped.

:class:`NodeRunner` runs the app of :func:`coopfed.node.app.create_app` exactly as
``web.AppRunner`` does (``coopfed serve`` and the tests use it); only its connections
differ from aiohttp's, in three ways aiohttp has no setting for:

- A request head aiohttp's parser refuses — a request line or header line over
  :data:`~coopfed.node.limits.MAX_LINE` bytes (a long query string), too many header
  fields, bytes that are not HTTP — is answered with the node's usual
  ``{"error": {"code", "message"}}`` (431 ``head_too_large`` or 400 ``bad_request``), not
  with aiohttp's plain text, which echoes the start of the offending line.
- Their log lines name no client address. aiohttp's say ``Error handling request from
  <address>``, with the parser's message (which can hold a header's value); these say what
  failed and nothing of who sent it (SECURITY.md, *Privacy*). Failures inside handlers are
  logged, addressless too, by the app's error middleware.
- A connection from an address (IPv6: a /64) that already holds
  ``max_connections_per_address`` open connections is answered 429
  ``too_many_connections`` and closed before anything is read from it. Behind a reverse
  proxy every client has the proxy's address: raise the cap, or set 0 and cap at the proxy.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from typing import Any, Final, cast

from aiohttp import web
from aiohttp.http_exceptions import LineTooLong

from .api_errors import ApiError, error_response
from .limits import LIMITS, MAX_LINE, ConnectionMeter, address_key

log = logging.getLogger(__name__)

#: aiohttp's parser says this when a head has more than ``max_headers`` fields.
_TOO_MANY_HEADERS: Final = "Too many headers received"


def _refusal(status: int, exc: BaseException | None) -> ApiError:
    """The coded answer to what aiohttp refused itself (``status``, raised as ``exc``)."""
    if isinstance(exc, LineTooLong):
        return ApiError(
            "head_too_large",
            f"the request line (with its query string) or a header line is longer than "
            f"{MAX_LINE} bytes, the most this node reads",
            status=431,
        )
    if getattr(exc, "message", None) == _TOO_MANY_HEADERS:
        return ApiError(
            "head_too_large", "the request has more header fields than this node reads", status=431
        )
    if status == 400:
        what = type(exc).__name__ if exc is not None else "malformed"
        return ApiError(
            "bad_request", f"the request is not HTTP/1.1 this node can read ({what})", status=400
        )
    if status >= 500:
        return ApiError("internal", "the node failed on this request", status=status)
    return ApiError("http_error", "the node could not answer this request", status=status)


@functools.cache
def _too_many_connections(cap: int) -> bytes:
    """A whole HTTP answer, written before the connection's request is read."""
    body = json.dumps(
        {
            "error": {
                "code": "too_many_connections",
                "message": f"your address holds {cap} connections open to this node, the most "
                "it allows one address; close one, or try again in a moment",
            }
        }
    ).encode()
    head = (
        "HTTP/1.1 429 Too Many Requests\r\n"
        "Content-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Retry-After: 1\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


def _host(peername: Any) -> str | None:
    return peername[0] if isinstance(peername, tuple) and peername else None


class _Connection(web.RequestHandler):
    """One client connection: counted against its address, its refusals coded, logs addressless."""

    __slots__ = ("_counted", "_meter")

    def __init__(
        self, manager: web.Server, *, meter: ConnectionMeter | None, **kwargs: Any
    ) -> None:
        super().__init__(manager, **kwargs)
        self._meter = meter
        self._counted: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._meter is not None:
            key = address_key(_host(transport.get_extra_info("peername")))
            if not self._meter.open(key):
                # Refused before aiohttp starts reading: nothing of it runs for this one.
                cast(asyncio.Transport, transport).write(_too_many_connections(self._meter.cap))
                transport.close()
                refused = self._meter.refused
                if refused & (refused - 1) == 0:  # the 1st, 2nd, 4th, 8th...: a few lines
                    log.warning(
                        "refused %d connection(s) so far from an address holding %d open "
                        "(max_connections_per_address; behind a proxy, raise it)",
                        refused,
                        self._meter.cap,
                    )
                return
            self._counted = key
        super().connection_made(transport)

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._meter is not None and self._counted is not None:
            self._meter.close(self._counted)
            self._counted = None
        super().connection_lost(exc)

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        # aiohttp's own version logs the client's address and answers in plain text.
        what = "no exception" if exc is None else type(exc).__name__
        if isinstance(exc, ConnectionError):
            log.debug("a client went away during its request (%s)", what)
        elif status >= 500:
            log.error("failed on a request (%d, %s)", status, what, exc_info=exc)
        else:  # the parser's message may quote the request: the class name says enough
            log.info("refused a malformed request (%d, %s)", status, what)
        if request.writer.output_size > 0:
            raise ConnectionError("an answer was under way already; the connection is broken")
        resp = error_response(_refusal(status, exc))
        resp.force_close()
        return resp


class _Server(web.Server):
    """aiohttp's server with :class:`_Connection` for each connection."""

    def __init__(self, base: web.Server, meter: ConnectionMeter | None) -> None:
        super().__init__(
            base.request_handler,
            request_factory=base.request_factory,
            handler_cancellation=base.handler_cancellation,
            loop=asyncio.get_running_loop(),
            **base._kwargs,  # the request-handler settings the app and runner gave
        )
        self._meter = meter

    def __call__(self) -> web.RequestHandler:
        return _Connection(self, meter=self._meter, loop=self._loop, **self._kwargs)


class NodeRunner(web.AppRunner):
    """``web.AppRunner`` for the node's app: its connections are :class:`_Connection`.

    It overrides ``_make_server``, aiohttp's hook for runners, and hands on the settings
    aiohttp's server keeps (``_kwargs``); the raw-socket tests in tests/node/test_limits.py
    fail if an aiohttp release moves them.
    """

    async def _make_server(self) -> web.Server:
        base = await super()._make_server()
        return _Server(base, self.app[LIMITS].connections)
