"""The ``coopfed`` command line: members sign on their own machine; errors are one line.

Operator commands (``init``, ``serve``, ``member invite --data``) work on a node's data
directory. Member commands read the member's key file, sign the record locally with it
(the node never sees the key) and post the signed bytes to ``--node``. Reading commands
(``proposals``, ``requester show``, ``blocklist export``, ``log``, ``status``) need only
the node's URL; ``log verify`` trusts nothing it fetched until it has checked it.

Every failure ends with one line on stderr (``Error: ...``) and exit status 1; a usage
mistake exits with 2. The command line reads the clock and passes milliseconds on.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import json
import logging
import os
import signal
import sys
import textwrap
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

import click

from coopfed.protocol.bodies import (
    DAY_MS,
    Appeal,
    Ballot,
    BlockRule,
    Body,
    Charter,
    Flag,
    FlagReason,
    MemberApply,
    Proposal,
    ProposalKind,
    Rating,
    RequesterRef,
    Retraction,
)
from coopfed.protocol.checkpoint import SignedCheckpoint, log_origin
from coopfed.protocol.errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from coopfed.protocol.identity import Identity, public_key_from_did
from coopfed.protocol.merkle import (
    TILE_WIDTH,
    entries_path,
    leaf_hash,
    root_at,
    root_from_leaf_hashes,
    split_entry_bundle,
    tile_path,
    tile_reader,
)
from coopfed.protocol.note import NoteVerifier
from coopfed.protocol.platforms import CURRENCIES
from coopfed.protocol.records import Record, sign_record
from coopfed.protocol.state import CoopState
from coopfed.protocol.stricter import coarse_hourly_cents, coarse_rating_minutes

from . import jsonin
from .config import Config
from .fedtext import federation_status_lines, profile_federation_lines
from .keys import KeyFileError, new_seed, read_key_file, write_key_file
from .safetext import MAX_NAME, MAX_SHOWN, csv_text, visible, visible_json

T = TypeVar("T")

MSGPACK: Final = "application/vnd.coopfed+msgpack"
DEFAULT_NODE: Final = "http://127.0.0.1:8470"
HOUR_MS: Final = 3_600_000
#: Largest answer the command line reads from a node (a guard, not a protocol limit).
MAX_RESPONSE: Final = 64 * 1024 * 1024
HTTP_TIMEOUT_S: Final = 30.0
#: Largest charter file ``propose --charter`` reads (a charter record is far smaller).
MAX_CHARTER_FILE: Final = 64 * 1024


class CliError(click.ClickException):
    """A failure the user can act on: printed as one line, exit status 1.

    The message often quotes a node or a peer (its refusal, the value it sent): it is
    shown by :func:`visible`, so it stays one line and hides nothing.
    """

    def format_message(self) -> str:
        return visible(self.message)


def now_ms() -> int:
    """The wall clock in Unix milliseconds: the command line's one clock read."""
    return time.time_ns() // 1_000_000


# --------------------------------------------------------------------------- talking to a node


class NodeClient:
    """A small blocking HTTP client for one node; refusals become :class:`CliError`."""

    def __init__(self, url: str, *, timeout: float = HTTP_TIMEOUT_S) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise CliError(f"--node must be an http(s) URL such as {DEFAULT_NODE}, got {url!r}")
        self.base = url.rstrip("/")
        self.timeout = timeout
        self._well_known: dict[str, Any] | None = None

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        req = urllib.request.Request(
            self.base + path,
            data=body,
            method=method,
            headers={"User-Agent": "coopfed-cli", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return resp.status, _read_bounded(resp)
        except urllib.error.HTTPError as exc:
            raise CliError(_refusal(exc.code, _read_bounded(exc), path)) from None
        except urllib.error.URLError as exc:
            raise CliError(f"cannot reach the node at {self.base}: {exc.reason}") from None
        except (TimeoutError, ConnectionError) as exc:
            raise CliError(f"cannot reach the node at {self.base}: {exc}") from None

    def get(
        self, path: str, params: dict[str, Any] | None = None, accept: str = "application/json"
    ) -> bytes:
        if params:
            path += "?" + urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        return self.request("GET", path, headers={"Accept": accept})[1]

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.answer(path, self.get(path, params))

    def answer(self, path: str, data: bytes) -> Any:
        """A node's JSON answer to ``path``: refused when it is not JSON or nests too deep."""
        try:
            return jsonin.loads(data, limit=MAX_RESPONSE, what="the answer")
        except jsonin.JsonRefused as exc:
            raise CliError(f"{self.base}{path}: {exc.code}: {exc.message}") from None

    def post_json(
        self, path: str, value: Any, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        status, data = self.request(
            "POST",
            path,
            body=json.dumps(value).encode(),
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        return status, self.answer(path, data)

    def post_record(self, record: Record) -> tuple[int, Any]:
        status, data = self.request(
            "POST", "/api/v1/records", body=record.raw, headers={"Content-Type": MSGPACK}
        )
        return status, self.answer("/api/v1/records", data)

    def well_known(self) -> dict[str, Any]:
        if self._well_known is None:
            value = self.get_json("/.well-known/coopfed")
            if not isinstance(value, dict) or not isinstance(value.get("coop"), str):
                raise CliError(f"{self.base} is not a coopfed node (bad /.well-known/coopfed)")
            self._well_known = value
        return self._well_known

    def coop(self) -> str:
        did: str = self.well_known()["coop"]
        return did


def _read_bounded(resp: Any) -> bytes:
    data: bytes = resp.read(MAX_RESPONSE + 1)
    if len(data) > MAX_RESPONSE:
        raise CliError(f"the node's answer is larger than {MAX_RESPONSE} bytes")
    return data


def _refusal(status: int, data: bytes, path: str) -> str:
    try:
        err = jsonin.loads(data, limit=MAX_RESPONSE)["error"]
        return f"the node refused ({status} {err['code']}): {err['message']}"
    except (jsonin.JsonRefused, KeyError, TypeError):
        return f"the node answered {status} for {path}"


# --------------------------------------------------------------------------- the group


_EXPECTED: Final = (KeyFileError, ProtocolError, OSError, ValueError)


class _Group(click.Group):
    """Turns every error into a one-line message instead of a traceback.

    ``COOPFED_DEBUG=1`` lets unexpected errors through with their traceback, for bug reports.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:
            # Standard output was closed (`coopfed verify ... | head`): click's main ends
            # quietly with status 1, as a well-behaved command does.
            raise
        except LocalProtocolError as exc:
            raise CliError(f"{exc.message}") from None
        except RemoteProtocolError as exc:
            raise CliError(f"{exc.code}: {exc.message}") from None
        except _EXPECTED as exc:
            raise CliError(str(exc) or type(exc).__name__) from None
        except Exception as exc:
            if os.environ.get("COOPFED_DEBUG") == "1":
                raise
            if _known_failure(exc):
                raise CliError(str(exc)) from None
            raise CliError(
                f"unexpected {type(exc).__name__}: {exc} (set COOPFED_DEBUG=1 to see where)"
            ) from None


def _known_failure(exc: Exception) -> bool:
    """Failures of the node's setup or database, which the message explains well enough."""
    if "sqlalchemy" in sys.modules:
        import sqlalchemy.exc

        if isinstance(exc, sqlalchemy.exc.SQLAlchemyError):
            return True
    if "coopfed.node.service" in sys.modules:
        from .service import NodeSetupError
        from .storage import StorageError

        return isinstance(exc, NodeSetupError | StorageError)
    return False


@click.group(
    cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(package_name="coopfed", prog_name="coopfed")
def cli() -> None:
    """coopfed: a crowdworker co-operative's node and its members' tools.

    Members keep their key on their own machine; every record is signed locally and
    posted to the co-op's node. Set COOPFED_NODE and COOPFED_KEY to skip --node/--key.
    """


def main() -> None:
    """Console script entry point."""
    cli(prog_name="coopfed")


def _node_option(f: Callable[..., T]) -> Callable[..., T]:
    return click.option(
        "--node",
        "node_url",
        envvar="COOPFED_NODE",
        default=DEFAULT_NODE,
        show_default=True,
        help="The co-op node's URL [env COOPFED_NODE]",
    )(f)


def _key_option(f: Callable[..., T]) -> Callable[..., T]:
    return click.option(
        "--key",
        "key_file",
        envvar="COOPFED_KEY",
        required=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="Your member key file [env COOPFED_KEY]",
    )(f)


def _json_option(f: Callable[..., T]) -> Callable[..., T]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON")(f)


def _requester_arg(value: str) -> RequesterRef:
    try:
        return RequesterRef.parse(value)
    except RemoteProtocolError as exc:
        raise CliError(exc.message) from None


def _record_id(value: str, what: str = "record id") -> bytes:
    try:
        rid = bytes.fromhex(value)
    except ValueError:
        rid = b""
    if len(rid) != 32:
        raise CliError(f"a {what} is 64 hex digits, got {value!r}")
    return rid


# --------------------------------------------------------------------------- printing
# Every line the command line prints goes through these: nodes, peers and members write
# much of what is shown, and must never get to add a line, hide one or steer the terminal
# (tests/node/test_output.py checks that no other code prints).


def say(line: str = "", *, err: bool = False, limit: int | None = MAX_SHOWN) -> None:
    """Print ``line`` as one line: whatever outside text it holds is shown by :func:`visible`."""
    click.echo(visible(line, limit), err=err)


def say_lines(text: str) -> None:
    """Print text whose line ends are its own (a note, a CSV file), each line as by :func:`say`."""
    for line in text.removesuffix("\n").split("\n"):
        say(line.removesuffix("\r"), limit=None)


def say_wrapped(text: str, first: str, rest: str) -> None:
    """Print a paragraph wrapped at 96 columns, after its indents, each line as by :func:`say`."""
    for line in textwrap.wrap(
        visible(text), width=96, initial_indent=first, subsequent_indent=rest
    ):
        say(line)


def say_json(value: Any) -> None:
    """Print ``value`` as JSON that parses back to it and shows as it is."""
    click.echo(visible_json(value))


def _handle(did: str) -> str:
    try:
        return Identity.from_did(did).handle
    except RemoteProtocolError:
        return "?"



def _when(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ms / 1000))


def _submit(
    key_file: Path, node_url: str, make: Callable[[NodeClient], Body], what: str
) -> dict[str, Any]:
    """Sign the body ``make`` builds with the member's key and post it; print the outcome."""
    signer = read_key_file(key_file)
    client = NodeClient(node_url)
    body = make(client)
    record = sign_record(signer, coop=client.coop(), ts=now_ms(), body=body)
    status, answer = client.post_record(record)
    again = " (already in the log)" if status == 200 else ""
    say(f"{what}: record {answer['id']} at log index {answer['index']}{again}")
    return dict(answer)


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


# --------------------------------------------------------------------------- operator


def _min_pay(values: tuple[str, ...]) -> dict[str, int]:
    """``--min-pay`` values (``GBP:9.50``, or ``none``) as minor units per hour by currency."""
    out: dict[str, int] = {}
    for value in values:
        if value.strip().lower() == "none":
            continue
        cur, sep, amount = value.partition(":")
        cur = cur.strip().upper()
        currency = CURRENCIES.get(cur)
        digits = 2 if currency is None else currency.exponent
        whole, dot, frac = amount.strip().partition(".")
        if (
            not sep
            or len(cur) != 3
            or not cur.isalpha()
            or not whole.isdigit()
            or (dot and not (frac.isdigit() and len(frac) <= digits))
        ):
            raise click.BadParameter(
                f"{value!r}: give a currency and an amount per hour, as GBP:9.50",
                param_hint="--min-pay",
            )
        if cur in out:
            raise click.BadParameter(f"{cur} is given twice", param_hint="--min-pay")
        minor = int(whole) * 10**digits + (int(frac.ljust(digits, "0")) if frac else 0)
        if minor <= 0:
            raise click.BadParameter(f"{value!r}: leave a currency out for no minimum")
        out[cur] = minor
    return out


@cli.command()
@click.option(
    "--data",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The new node's data directory",
)
@click.option("--name", required=True, help="The co-op's name")
@click.option(
    "--admission",
    type=click.Choice(["invite", "vote"]),
    default="invite",
    show_default=True,
    help="How new members join",
)
@click.option(
    "--quorum-pct",
    type=click.IntRange(1, 100),
    default=50,
    show_default=True,
    help="Share of members who must vote for a decision to count",
)
@click.option(
    "--pass-pct",
    type=click.IntRange(50, 99),
    default=50,
    show_default=True,
    help="Share of yes among yes+no that passes a proposal",
)
@click.option(
    "--amend-pct",
    type=click.IntRange(50, 99),
    default=66,
    show_default=True,
    help="Share of yes that amends the charter",
)
@click.option(
    "--window-hours",
    type=click.IntRange(1, 90 * 24),
    default=24,
    show_default=True,
    help="Shortest voting window",
)
@click.option(
    "--max-window-days",
    type=click.IntRange(1, 90),
    default=14,
    show_default=True,
    help="Longest voting window",
)
@click.option(
    "--idea-up",
    type=click.IntRange(1, 100_000),
    default=3,
    show_default=True,
    help="Up-votes that launch an idea",
)
@click.option(
    "--block-flags",
    type=click.IntRange(2, 10_000),
    default=3,
    show_default=True,
    help="Distinct members' flags that block a requester provisionally...",
)
@click.option(
    "--block-days",
    type=click.IntRange(1, 365),
    default=7,
    show_default=True,
    help="...within this many days",
)
@click.option(
    "--review-days",
    type=click.IntRange(1, 365),
    default=30,
    show_default=True,
    help="When a provisional block is reviewed",
)
@click.option(
    "--min-pay",
    "min_pay",
    multiple=True,
    metavar="CUR:AMOUNT",
    default=("USD:12.00",),
    show_default=True,
    help="The co-op's minimum agreed pay per hour in one currency, as GBP:9.50 (repeat; "
    "none: --min-pay none)",
)
@click.option(
    "--role",
    "roles",
    multiple=True,
    default=("coordinator",),
    show_default=True,
    help="A role members can be elected to (repeat)",
)
@click.option(
    "--founder-key",
    "founder_keys",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A founder's key file; generated (mode 0600) if missing (repeat)",
)
@click.option(
    "--database-url",
    help="PostgreSQL URL (postgresql+asyncpg://...); default SQLite in the data directory",
)
@click.option("--database-schema", help="PostgreSQL schema for the tables")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8470, show_default=True)
@click.option(
    "--checkpoint-every",
    type=click.IntRange(1, 1_000_000),
    default=64,
    show_default=True,
    help="Sign a checkpoint after this many appends...",
)
@click.option(
    "--checkpoint-seconds",
    type=click.FloatRange(0.1, 86_400),
    default=5.0,
    show_default=True,
    help="...or this long after an append no checkpoint covers",
)
@click.option(
    "--sync-seconds",
    type=click.FloatRange(0.1, 86_400),
    default=30.0,
    show_default=True,
    help="How often followed co-ops' logs are pulled and witnesses asked",
)
def init(
    data: Path,
    name: str,
    admission: str,
    quorum_pct: int,
    pass_pct: int,
    amend_pct: int,
    window_hours: int,
    max_window_days: int,
    idea_up: int,
    block_flags: int,
    block_days: int,
    review_days: int,
    min_pay: tuple[str, ...],
    roles: tuple[str, ...],
    founder_keys: tuple[Path, ...],
    database_url: str | None,
    database_schema: str | None,
    host: str,
    port: int,
    checkpoint_every: int,
    checkpoint_seconds: float,
    sync_seconds: float,
) -> None:
    """Found a new co-op: its key, charter, founders, database and admin token."""
    from .service import Node  # the storage stack loads only for operator commands

    pay = _min_pay(min_pay)
    try:
        charter = Charter.from_value(
            {
                "admission": admission,
                "amend_pct": amend_pct,
                "block_rule": BlockRule(
                    flags=block_flags, days=block_days, review_days=review_days
                ).to_value(),
                "idea_up": idea_up,
                "max_window_ms": max_window_days * DAY_MS,
                "min_pay": pay,
                "min_window_ms": window_hours * HOUR_MS,
                "name": name,
                "pass_pct": pass_pct,
                "quorum_pct": quorum_pct,
                "roles": sorted(set(roles)),
            }
        )
    except RemoteProtocolError as exc:
        raise CliError(f"the charter is not valid: {exc.message}") from None
    founders = []
    for path in founder_keys:
        if path.exists():
            ident = read_key_file(path)
            say(f"founder {ident.identity.handle} ({ident.did}) from {path}")
        else:
            ident = write_key_file(path, new_seed())
            say(f"founder {ident.identity.handle} ({ident.did}): new key in {path}")
        founders.append(ident.did)
    if len(set(founders)) != len(founders):
        raise CliError("two --founder-key files hold the same key")
    config = Config(
        data_dir=data,
        database_url=database_url,
        schema=database_schema,
        host=host,
        port=port,
        checkpoint_every=checkpoint_every,
        checkpoint_interval_s=checkpoint_seconds,
        sync_interval_s=sync_seconds,
        sync_max_backoff_s=max(600.0, 4 * sync_seconds),
    )

    async def create() -> tuple[str, int]:
        node = await Node.create(
            config, name=name, charter=charter, founders=founders, now_ms=now_ms()
        )
        async with node:
            return node.did, await node.size()

    did, size = _run(create())
    say(f"co-op {name!r} founded: {did} ({_handle(did)})")
    say(f"log: {size} records (charter and {len(founders)} founder(s)); data in {data}")
    say(f"admin token: {data / 'admin.token'} (keep it secret)")
    say(f"next: coopfed serve --data {data}")


@cli.command()
@click.option(
    "--data", required=True, type=click.Path(file_okay=False, exists=True, path_type=Path)
)
@click.option("--host", help="Address to listen on [default: the config's]")
@click.option(
    "--port", type=click.IntRange(0, 65535), help="Port (0: any free one) [default: the config's]"
)
@click.option("--database-url", help="Override the configured database")
@click.option(
    "--behind-proxy",
    is_flag=True,
    help="Reached only through a reverse proxy: rate-limit each client by the address the "
    "proxy puts last in X-Forwarded-For, and cap connections at the proxy, not here "
    "(they all come from it)",
)
@click.option("--access-log", is_flag=True, help="Log every request")
def serve(
    data: Path,
    host: str | None,
    port: int | None,
    database_url: str | None,
    behind_proxy: bool,
    access_log: bool,
) -> None:
    """Run the co-op's node until interrupted (Ctrl-C or SIGTERM)."""
    config = Config.load(data)
    changes: dict[str, Any] = {
        k: v
        for k, v in (("host", host), ("port", port), ("database_url", database_url))
        if v is not None
    }
    if behind_proxy:
        # Every connection is the proxy's: a cap per address would cap all clients together.
        changes |= {"trust_forwarded_for": True, "max_connections_per_address": 0}
    config = dataclasses.replace(config, **changes)
    if not (data / "coop.key").exists():
        raise CliError(f"{data} holds no co-op: run 'coopfed init --data {data} --name NAME'")
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    _run(_serve(config, access_log=access_log))


async def _serve(config: Config, *, access_log: bool) -> None:
    from aiohttp import web

    from .app import NODE, create_app
    from .server import NodeRunner

    app = create_app(config)
    runner = NodeRunner(
        app,
        access_log=logging.getLogger("aiohttp.access") if access_log else None,
        handle_signals=False,
    )
    try:
        await runner.setup()
    except (OSError, ProtocolError, KeyFileError, ValueError) as exc:
        await runner.cleanup()
        raise CliError(f"the node could not start: {exc}") from None
    try:
        site = web.TCPSite(runner, config.host, config.port)
        try:
            await site.start()
        except OSError as exc:
            raise CliError(
                f"cannot listen on {config.host}:{config.port}: {exc.strerror}"
            ) from None
        host, port = runner.addresses[0][:2]
        node = app[NODE]
        shown = f"[{host}]" if ":" in host else host
        say(f"coopfed: serving {node.name!r} ({node.did}) on http://{shown}:{port}")
        sys.stdout.flush()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        say("coopfed: stopping")
    finally:
        await runner.cleanup()


# --------------------------------------------------------------------------- membership


@cli.group()
def member() -> None:
    """Member keys, invites and joining."""


@member.command()
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the new key file",
)
def keygen(key_file: Path) -> None:
    """Make a new member key (a file readable only by you); print its DID and handle."""
    ident = write_key_file(key_file, new_seed())
    say(f"did: {ident.did}")
    say(f"handle: {ident.identity.handle}")
    say(f"key file: {key_file} (mode 0600; back it up, never share it)")


@member.command()
@click.option(
    "--data",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="The node's data directory (on the node's machine)",
)
@_node_option
@click.option(
    "--admin-token",
    envvar="COOPFED_ADMIN_TOKEN",
    help="The operator's admin token, to ask a running node [env COOPFED_ADMIN_TOKEN]",
)
@click.option(
    "--hours",
    type=click.IntRange(1, 90 * 24),
    default=7 * 24,
    show_default=True,
    help="How long the invite stays valid",
)
@_json_option
def invite(
    data: Path | None, node_url: str, admin_token: str | None, hours: int, as_json: bool
) -> None:
    """Make a single-use invite token (operator only): --data DIR, or --node and --admin-token."""
    if data is None and admin_token is None:
        raise click.UsageError("give --data DIR, or --node URL with --admin-token TOKEN")
    if data is not None:
        from .service import Node

        async def make() -> tuple[str, int]:
            now = now_ms()
            async with await Node.open(Config.load(data)) as node:
                return await node.create_invite(
                    ttl_s=hours * 3600, now_ms=now
                ), now + hours * 3600 * 1000

        token, expires = _run(make())
        target = node_url
    else:
        client = NodeClient(node_url)
        _, answer = client.post_json(
            "/api/v1/invites",
            {"ttl_s": hours * 3600},
            headers={"Authorization": f"Bearer {admin_token}"},
        )
        token, expires = answer["token"], answer["expires"]
        target = client.base
    if as_json:
        say_json({"token": token, "expires": expires})
        return
    say(f"invite token: {token}")
    say(f"valid until {_when(expires)}, for one person")
    say(f"they join with: coopfed member join --key KEYFILE --node {target} --token {token}")


@member.command()
@_key_option
@_node_option
@click.option(
    "--token",
    help="An invite token (without one you apply, if the charter admits by vote: a member "
    "must sponsor your application before the members vote on it)",
)
@click.option("--text", help="A word to the members (when applying to be voted in)")
def join(key_file: Path, node_url: str, token: str | None, text: str | None) -> None:
    """Join a co-op with your key: by invite token, or by applying for a member's sponsorship."""
    signer = read_key_file(key_file)
    client = NodeClient(node_url)
    apply = sign_record(signer, coop=client.coop(), ts=now_ms(), body=MemberApply(text=text))
    body: dict[str, Any] = {"apply": apply.raw.hex()}
    if token:
        body["token"] = token
    _, answer = client.post_json("/api/v1/join", body)
    name = visible(str(client.well_known().get("name", "the co-op")), MAX_NAME)
    if answer.get("admitted"):
        say(f"welcome to {name}: you are member {signer.identity.handle} ({signer.did})")
    elif answer.get("status") == "pending":
        say(f"your application to {name} waits for a member to sponsor it: {answer['id']}")
        say(
            "it is not in the co-op's log yet; once a member sponsors it, the members vote. "
            f"If nobody does by {_when(answer['expires'])}, it is dropped."
        )
    else:
        say(f"your application to {name} is put to a vote: proposal {answer['id']}")


@member.command("applications")
@_node_option
@_json_option
def member_applications(node_url: str, as_json: bool) -> None:
    """Applications to join waiting for a member's sponsorship, oldest first."""
    found = NodeClient(node_url).get_json("/api/v1/applications")["applications"]
    if as_json:
        say_json(found)
        return
    if not found:
        say("no applications are waiting")
    for a in found:
        # Every field is an outsider's words or the node's: say() shows each escaped.
        say(f"{a['id']}  {a['long_handle']}  came {a['received']}, dropped {a['expires']}")
        say(f"    {a['member']}")
        if a.get("text"):
            say(f"    {a['text']}", limit=1000)
    if found:
        say("a member sponsors one with: coopfed member sponsor APPLICATION_ID")


@member.command()
@_key_option
@_node_option
@click.argument("application_id")
@click.option(
    "--hours",
    type=click.IntRange(1, 90 * 24),
    help="Voting window [default: the charter's shortest]",
)
def sponsor(key_file: Path, node_url: str, application_id: str, hours: int | None) -> None:
    """Sponsor an application: propose admitting the applicant, so the members vote on it."""
    wanted = _record_id(application_id, "application id")

    def make(client: NodeClient) -> Body:
        waiting = client.get_json("/api/v1/applications")["applications"]
        found = [a for a in waiting if a["id"] == wanted.hex()]
        if not found:
            raise CliError(
                f"application {wanted.hex()} is not waiting at {client.base} "
                "(see: coopfed member applications)"
            )
        applicant = found[0]
        window = (
            hours * HOUR_MS
            if hours
            else client.get_json("/api/v1/charter")["record"]["body"]["min_window_ms"]
        )
        opens = now_ms()
        return Proposal(
            kind=ProposalKind.ADMIT,
            pitch=f"Admit {Identity.from_did(applicant['member']).long_handle} as a member",
            text=applicant.get("text") or None,
            member=applicant["member"],
            application=wanted,
            opens=opens,
            closes=opens + int(window),
        )

    answer = _submit(key_file, node_url, make, "sponsored (admit proposal)")
    say(f"members vote with: coopfed vote {answer['id']} yes|no|abstain")


# --------------------------------------------------------------------------- member records


@cli.command()
@_key_option
@_node_option
@click.argument("requester", metavar="PLATFORM:ID")
@click.option("--pay", type=click.IntRange(1, 5), help="Pay, 1 (poor) to 5 (generous)")
@click.option("--fair", type=click.IntRange(1, 5), help="Fairness of approvals and rejections")
@click.option("--comm", type=click.IntRange(1, 5), help="Communication")
@click.option("--fast", type=click.IntRange(1, 5), help="Promptness of approval and payment")
@click.option(
    "--hourly-cents",
    type=click.IntRange(0, 1_000_000),
    help="What the work paid you per hour, in cents",
)
@click.option(
    "--minutes",
    type=click.IntRange(1, 100_000),
    help="Minutes worked that the hourly pay is based on",
)
@click.option("--rejected", type=click.Choice(["none", "some", "all"]), help="Were you rejected?")
@click.option("--recommend/--no-recommend", default=None, help="Would you work for them again?")
@click.option("--text", help="A short review")
def rate(
    key_file: Path,
    node_url: str,
    requester: str,
    pay: int | None,
    fair: int | None,
    comm: int | None,
    fast: int | None,
    hourly_cents: int | None,
    minutes: int | None,
    rejected: str | None,
    recommend: bool | None,
    text: str | None,
) -> None:
    """Rate a requester (your newest rating replaces your older ones).

    Pay and time are rounded (pay to 50 cents an hour, time to a coarse step): a requester
    sees every worker's exact times, and must not pick you out by yours.
    """
    ref = _requester_arg(requester)
    if hourly_cents is not None and hourly_cents != coarse_hourly_cents(hourly_cents):
        hourly_cents = coarse_hourly_cents(hourly_cents)
        say(f"Pay rounded to {hourly_cents} cents an hour, so that it cannot single you out.")
    if minutes is not None and minutes != coarse_rating_minutes(minutes):
        minutes = coarse_rating_minutes(minutes)
        say(f"Time rounded to {minutes} minutes, so that it cannot single you out.")
    scores = tuple(
        (k, v)
        for k, v in (("comm", comm), ("fair", fair), ("fast", fast), ("pay", pay))
        if v is not None
    )
    body = Rating(
        requester=ref,
        scores=scores,
        hourly_cents=hourly_cents,
        minutes=minutes,
        rejected=rejected,
        recommend=recommend,
        text=text,
    )
    _submit(key_file, node_url, lambda _: body, f"rated {ref}")


@cli.command()
@_key_option
@_node_option
@click.argument("requester", metavar="PLATFORM:ID")
@click.option("--reason", required=True, type=click.Choice([r.value for r in FlagReason]))
@click.option("--hit-group", help="Flag one HIT group of theirs (its id)")
@click.option("--batch", help="Flag one batch of theirs (its id)")
@click.option(
    "--days",
    type=click.IntRange(1, 365),
    default=30,
    show_default=True,
    help="How long the flag counts",
)
@click.option("--note", help="What happened (required with --reason other)")
def flag(
    key_file: Path,
    node_url: str,
    requester: str,
    reason: str,
    hit_group: str | None,
    batch: str | None,
    days: int,
    note: str | None,
) -> None:
    """Flag a requester, one of their HIT groups, or a batch."""
    ref = _requester_arg(requester)
    if hit_group and batch:
        raise click.UsageError("flag a HIT group or a batch, not both")
    target, target_id = (
        ("hit_group", hit_group)
        if hit_group
        else ("batch", batch)
        if batch
        else ("requester", None)
    )
    ts = now_ms()
    body = Flag(
        requester=ref,
        target=target,
        target_id=target_id,
        reason=FlagReason(reason),
        expires=ts + days * DAY_MS,
        note=note,
    )
    _submit(key_file, node_url, lambda _: body, f"flagged {ref} ({reason})")


@cli.command()
@_key_option
@_node_option
@click.argument("requester", metavar="PLATFORM:ID")
@click.option(
    "--status",
    type=click.Choice(["filed", "won", "lost", "no_response"]),
    default="filed",
    show_default=True,
)
@click.option("--follows", help="The id of your earlier 'filed' appeal (for an outcome)")
@click.option("--hit-group", help="The HIT group the rejection was in")
@click.option(
    "--rejected-cents",
    type=click.IntRange(0, 10_000_000),
    help="Pay lost to the rejection, in cents",
)
@click.option("--text", help="What happened")
def appeal(
    key_file: Path,
    node_url: str,
    requester: str,
    status: str,
    follows: str | None,
    hit_group: str | None,
    rejected_cents: int | None,
    text: str | None,
) -> None:
    """Record a rejection appeal, or its outcome (--status won --follows ID)."""
    ref = _requester_arg(requester)
    body = Appeal(
        requester=ref,
        status=status,
        hit_group=hit_group,
        rejected_cents=rejected_cents,
        follows=None if follows is None else _record_id(follows, "appeal id"),
        text=text,
    )
    _submit(key_file, node_url, lambda _: body, f"appeal {status} about {ref}")


@cli.command()
@_key_option
@_node_option
@click.argument("record_id")
@click.option("--reason", help="Why you withdraw it")
def retract(key_file: Path, node_url: str, record_id: str, reason: str | None) -> None:
    """Withdraw one of your ratings, flags or appeals (history keeps both)."""
    body = Retraction(record=_record_id(record_id), reason=reason)
    _submit(key_file, node_url, lambda _: body, "retracted")


@cli.command()
@_key_option
@_node_option
@click.option("--kind", required=True, type=click.Choice([k.value for k in ProposalKind]))
@click.option("--pitch", required=True, help="The proposal in one line (≤140 characters)")
@click.option("--text", help="The full text")
@click.option("--requester", help="PLATFORM:ID (block, unblock)")
@click.option("--reason", type=click.Choice([r.value for r in FlagReason]), help="(block)")
@click.option("--member", "member_did", help="A member's DID (admit, revoke)")
@click.option("--role", help="The role to elect (elect)")
@click.option("--candidate", "candidates", multiple=True, help="A candidate's DID (elect)")
@click.option(
    "--charter",
    "charter_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="JSON file with the new rules (amend)",
)
@click.option(
    "--hours",
    type=click.IntRange(1, 90 * 24),
    help="Voting window [default: the charter's shortest]",
)
def propose(
    key_file: Path,
    node_url: str,
    kind: str,
    pitch: str,
    text: str | None,
    requester: str | None,
    reason: str | None,
    member_did: str | None,
    role: str | None,
    candidates: tuple[str, ...],
    charter_file: Path | None,
    hours: int | None,
) -> None:
    """Put a question to the members: block, unblock, admit, revoke, amend, elect or idea."""
    new_rules = None
    if charter_file is not None:
        try:
            new_rules = Charter.from_value(
                jsonin.loads(charter_file.read_bytes(), limit=MAX_CHARTER_FILE, what="the file")
            )
        except RemoteProtocolError as exc:  # JsonRefused too
            raise CliError(f"{charter_file}: {exc.message}") from None

    def make(client: NodeClient) -> Body:
        window = (
            hours * HOUR_MS
            if hours
            else client.get_json("/api/v1/charter")["record"]["body"]["min_window_ms"]
        )
        opens = now_ms()
        return Proposal(
            kind=ProposalKind(kind),
            pitch=pitch,
            text=text,
            opens=opens,
            closes=opens + int(window),
            requester=None if requester is None else _requester_arg(requester),
            reason=None if reason is None else FlagReason(reason),
            member=member_did,
            role=role,
            candidates=tuple(sorted(candidates, key=str.encode)),
            charter=new_rules,
        )

    answer = _submit(key_file, node_url, make, f"proposed ({kind})")
    say(f"members vote with: coopfed vote {answer['id']} yes|no|abstain")


@cli.command()
@_key_option
@_node_option
@click.argument("proposal_id")
@click.argument("choice")
def vote(key_file: Path, node_url: str, proposal_id: str, choice: str) -> None:
    """Vote on a proposal: yes, no or abstain (up or down on ideas; a DID in elections)."""
    body = Ballot(proposal=_record_id(proposal_id, "proposal id"), choice=choice)
    _submit(key_file, node_url, lambda _: body, f"voted {choice}")


# --------------------------------------------------------------------------- reading


@cli.command()
@_node_option
@click.option("--status", type=click.Choice(["open", "closed", "decided"]))
@_json_option
def proposals(node_url: str, status: str | None, as_json: bool) -> None:
    """List proposals with their tallies, newest first."""
    found = NodeClient(node_url).get_json("/api/v1/proposals", {"status": status})["proposals"]
    if as_json:
        say_json(found)
        return
    if not found:
        say("no proposals")
    for p in found:
        tally = p.get("tally") or {}
        counts = ", ".join(f"{k} {v}" for k, v in sorted((tally.get("counts") or {}).items()))
        say(f"{p['id']}  {p['status']:<7}  {p['kind']:<7}  {p['body']['pitch']}")
        so_far = "result" if p["status"] == "decided" else "result so far"
        say(
            f"    closes {_when(p['body']['closes'])}; votes: {counts or 'none'}; "
            f"{so_far}: {tally.get('result', tally.get('error', '?'))}"
        )


@cli.group()
def requester() -> None:
    """What the co-op knows about requesters."""


@requester.command("show")
@_node_option
@click.argument("name", metavar="PLATFORM:ID")
@_json_option
def requester_show(node_url: str, name: str, as_json: bool) -> None:
    """A requester's profile: scores, pay, rejections, flags, and blocklist status."""
    ref = _requester_arg(name)
    path = (
        "/api/v1/requesters/"
        + urllib.parse.quote(ref.platform, safe="")
        + "/"
        + urllib.parse.quote(ref.id, safe="")
    )
    profile = NodeClient(node_url).get_json(path)
    if as_json:
        say_json(profile)
        return
    for line in format_profile(profile):
        say(line)


def _cents(value: int | None) -> str:
    return "-" if value is None else f"${value // 100}.{value % 100:02d}"


def format_profile(profile: dict[str, Any]) -> Iterator[str]:
    """A requester's profile in plain lines for people."""
    bl = profile["blocklist"]
    status = (bl["status"] or "not blocked").upper() if bl["status"] else "not blocked"
    yield f"{profile['requester']}: {status}"
    if profile.get("aliases"):
        yield f"  also known as: {', '.join(profile['aliases'])}"
    for label, key in (("all time", "all"), ("last 90 days", "last_90_days")):
        s = profile[key]
        scores = ", ".join(
            f"{dim} {v['mean_x100'] / 100:.2f} ({v['count']})"
            for dim, v in s["scores"].items()
            if v["count"]
        )
        pay = s["hourly_cents"]
        yield f"  {label}: {s['reports']} rating(s)"
        yield f"    scores (1–5): {scores or 'none'}"
        yield f"    hourly pay: median {_cents(pay['median'])} over {pay['count']} report(s)"
        rej = s["rejections"]
        yield f"    rejections: none {rej['none']}, some {rej['some']}, all {rej['all']}"
        flags = ", ".join(f"{k} {v}" for k, v in s["flags"].items())
        yield f"    active flags: {flags or 'none'}"
        appeals = ", ".join(f"{k} {v}" for k, v in s["appeals"].items() if v)
        yield f"    appeals: {appeals or 'none'}"
    for step in bl["steps"]:
        yield f"  why: {step}"
    yield from profile_federation_lines(profile)


@cli.group()
def blocklist() -> None:
    """The co-op's effective blocklist."""


@blocklist.command("export")
@_node_option
@click.option(
    "--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output",
)
def blocklist_export(node_url: str, fmt: str, output: Path | None) -> None:
    """Export the blocklist with provenance (block record ids)."""
    client = NodeClient(node_url)
    data = client.get(
        "/api/v1/blocklist",
        {"format": fmt},
        accept="text/csv" if fmt == "csv" else "application/json",
    )
    if fmt == "json":
        text = visible_json(client.answer("/api/v1/blocklist", data)) + "\n"
    else:
        # Written again cell by cell: whatever the node sent (an older node's formulas, a
        # lying node's escapes), no cell is a formula and none steers a terminal.
        rows = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
        text = csv_text([visible(cell, None) for cell in row] for row in rows)
    if output is None:
        say_lines(text)
    else:
        output.write_text(text, encoding="utf-8", newline="")
        say(f"wrote {output}", err=True)


@cli.group("log")
def log_group() -> None:
    """The co-op's signed, append-only log."""


@log_group.command("checkpoint")
@_node_option
def log_checkpoint(node_url: str) -> None:
    """Print the latest signed checkpoint note."""
    say_lines(NodeClient(node_url).get("/checkpoint", accept="text/plain").decode("utf-8"))


@log_group.command("verify")
@_node_option
@click.option(
    "--coop",
    "expected",
    help="The co-op's DID you expect (else: the one the node names, trusted on first use)",
)
def log_verify(node_url: str, expected: str | None) -> None:
    """Fetch the checkpoint and every entry; check the tree, the signatures and the rules."""
    client = NodeClient(node_url)
    coop = client.coop()
    if expected is not None and expected != coop:
        raise CliError(f"the node serves co-op {coop}, not {expected}")
    origin = log_origin(coop)
    verifier = NoteVerifier.ed25519(origin, public_key_from_did(coop))
    note = client.get("/checkpoint", accept="text/plain")
    signed = SignedCheckpoint.parse(note, verifier)
    size, root = signed.size, signed.root_hash
    say(f"checkpoint: {size} entries, root {root.hex()}, signed by {coop}")

    def fetch_tiles(tiles: Any) -> list[bytes]:
        return [
            client.get(
                "/" + tile_path(lv, ix, None if w == TILE_WIDTH else w),
                accept="application/octet-stream",
            )
            for lv, ix, w in tiles
        ]

    if size and root_at(size, tile_reader(size, fetch_tiles)) != root:
        raise CliError("FAILED: the hash tiles do not give the checkpoint's root")
    raws: list[bytes] = []
    bundles = (size + TILE_WIDTH - 1) // TILE_WIDTH
    # Progress only on a terminal: elsewhere (a log, a pipe, a test) it would be read after
    # the verdict on standard output, which must be the last word.
    quiet = not sys.stderr.isatty()
    with click.progressbar(
        range(bundles), label="fetching entries", file=sys.stderr, show_pos=True, hidden=quiet
    ) as bar:
        for n in bar:
            width = min(TILE_WIDTH, size - n * TILE_WIDTH)
            raws += _split_bundle(
                client.get(
                    "/" + entries_path(n, None if width == TILE_WIDTH else width),
                    accept="application/octet-stream",
                ),
                width,
                n,
            )
    if root_from_leaf_hashes([leaf_hash(r) for r in raws]) != root:
        raise CliError("FAILED: the entries do not hash to the checkpoint's root")
    state = CoopState(coop)
    with click.progressbar(
        raws, label="checking records", file=sys.stderr, show_pos=True, hidden=quiet
    ) as records:
        for i, raw in enumerate(records):
            try:
                state.apply(Record.from_bytes(raw))
            except RemoteProtocolError as exc:
                raise CliError(f"FAILED: entry {i}: {exc.code}: {exc.message}") from None
    say(
        f"OK: {size} records; every signature verifies, they hash to the signed "
        f"root, and each follows the co-op's rules. Members now: "
        f"{len(state.members())}; active blocks: {len(state.active_blocks())}."
    )


def _split_bundle(data: bytes, width: int, n: int) -> list[bytes]:
    try:
        return split_entry_bundle(data, width)
    except RemoteProtocolError as exc:
        raise CliError(f"FAILED: entry bundle {n}: {exc.message}") from None


@cli.command()
@_node_option
@_json_option
def status(node_url: str, as_json: bool) -> None:
    """The node's state: log size, checkpoint, members, proposals, blocks."""
    st = NodeClient(node_url).get_json("/api/v1/status")
    if as_json:
        say_json(st)
        return
    cp = st.get("checkpoint") or {}
    say(f"{visible(str(st['name']), MAX_NAME)} ({st['coop']})")
    say(f"  log: {st['size']} records; last checkpoint at size {cp.get('size', '-')}")
    say(
        f"  members: {st['members']}; open proposals: {st['open_proposals']}; "
        f"active blocks: {st['blocks']}"
    )
    for line in federation_status_lines(st):
        say(line)


# The federation commands (peer, policy, blocklist explain, bundle, verify) live in their
# own module and register themselves on the group above. (Hidden from mypy, which checks
# that module on its own, so that the two modules are no import cycle for it.)
if not TYPE_CHECKING:
    from . import (
        cli_fed,  # noqa: F401
        cli_operator,  # noqa: F401
    )
