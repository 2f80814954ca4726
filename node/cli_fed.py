"""The federation commands of ``coopfed``: peers, policy, explain, bundles and offline verify.

Operator commands (``peer add/remove``, ``policy set``) act on the operator's own node,
either through its data directory (``--data DIR``, on the node's machine) or through its
HTTP API with the admin token (``--node URL --admin-token T``). ``bundle`` fetches a
verification bundle from a node; ``verify`` checks one with no network at all and prints
what it proves in sentences, exiting 1 on any failure. Registered on the ``coopfed``
group by :mod:`coopfed.node.cli`.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

import click

from coopfed.protocol.bundle import MAX_BUNDLE_SIZE, verify_bundle
from coopfed.protocol.checkpoint import SignedCheckpoint, log_origin
from coopfed.protocol.errors import BundleError, RemoteProtocolError
from coopfed.protocol.identity import Identity
from coopfed.protocol.witness import log_verifier, witness_verifier

from .cli import (
    CliError,
    NodeClient,
    _handle,
    _json_option,
    _node_option,
    _requester_arg,
    _run,
    _when,
    blocklist,
    cli,
    now_ms,
    say,
    say_json,
    say_wrapped,
)
from .config import Config
from .safetext import MAX_NAME, visible


def _fingerprint(did: str) -> str:
    from .peers import key_fingerprint  # the storage stack loads only when needed

    return key_fingerprint(did)


def _operator_options(f: Any) -> Any:
    f = click.option(
        "--admin-token",
        envvar="COOPFED_ADMIN_TOKEN",
        help="Your node's admin token, to use its API [env COOPFED_ADMIN_TOKEN]",
    )(f)
    f = _node_option(f)
    return click.option(
        "--data",
        type=click.Path(file_okay=False, exists=True, path_type=Path),
        help="Your node's data directory (on the node's machine)",
    )(f)


def _need_operator(data: Path | None, admin_token: str | None) -> None:
    if data is None and admin_token is None:
        raise click.UsageError("give --data DIR, or --node URL with --admin-token TOKEN")


def _admin(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _with_node(data: Path, work: Any) -> Any:
    """Open the node in ``data`` (its database, as the server would) and run ``work(node)``."""
    from .service import Node

    async def run() -> Any:
        async with await Node.open(Config.load(data)) as node:
            return await work(node)

    return _run(run())


# --------------------------------------------------------------------------- peers


@cli.group()
def peer() -> None:
    """The co-ops your node follows (operator)."""


@peer.command("add")
@click.argument("url")
@click.option("--mirror", "mirrors", multiple=True, help="Another URL serving its log (repeat)")
@click.option("--yes", is_flag=True, help="Pin without asking (you checked the fingerprint)")
@_operator_options
def peer_add(
    url: str,
    mirrors: tuple[str, ...],
    yes: bool,
    data: Path | None,
    node_url: str,
    admin_token: str | None,
) -> None:
    """Follow the co-op whose node is at URL: check its key, confirm, and pin it."""
    _need_operator(data, admin_token)
    them = NodeClient(url)
    wk = them.well_known()
    did = them.coop()
    try:
        origin = log_origin(did)
    except RemoteProtocolError as exc:
        raise CliError(f"{url} names a co-op key that is not valid: {exc.message}") from None
    if wk.get("origin") != origin:
        raise CliError(f"{url} gives its log origin as {wk.get('origin')!r}, expected {origin!r}")
    note = them.get("/checkpoint", accept="text/plain")
    try:
        signed = SignedCheckpoint(note=note, log_verifier=log_verifier(did))
    except RemoteProtocolError as exc:
        raise CliError(f"{url}'s checkpoint is not signed by {did}: {exc.message}") from None
    # The name is the node's claim, shown escaped and capped on a line of its own, before
    # the facts; everything after it is computed here from the key the checkpoint verified
    # under, so a name cannot print a DID or a fingerprint that would be taken for them.
    claimed = wk.get("name")
    name = visible(claimed, MAX_NAME) if isinstance(claimed, str) else ""
    say(f"the node at {them.base} calls its co-op: {name or '(no name)'}")
    say(f"its log holds {signed.size} records; its checkpoint is signed by this key:")
    ident = Identity.from_did(did)
    say(f"  did:         {ident.did}")
    say(f"  handle:      {ident.handle}")
    say(f"  fingerprint: {_fingerprint(ident.did)}")
    if not yes:
        say("Compare the fingerprint with the one the co-op gave you in person or by")
        say("another channel you trust: pinning it means every record of theirs must")
        say("carry this key's signature. The name above is only what their node says.")
        click.confirm("Pin this key and follow the co-op?", abort=True)
    base = them.base
    if data is not None:

        async def pin(node: Any) -> Any:
            return await node.peers.pin(
                did, url=base, mirrors=list(mirrors), name=name, now_ms=now_ms()
            )

        _with_node(data, pin)
    else:
        assert admin_token is not None
        NodeClient(node_url).post_json(
            "/api/v1/peers",
            {"did": did, "url": base, "mirrors": list(mirrors), "name": name},
            headers=_admin(admin_token),
        )
    say(f"pinned {_handle(did)} ({did}); your node syncs its log from {base}")


def _peers_json(data: Path | None, node_url: str) -> list[dict[str, Any]]:
    if data is not None:

        async def listing(node: Any) -> list[dict[str, Any]]:
            from .fedroutes import peer_json

            return [peer_json(node, p.did) for p in node.peers.all()]

        result: list[dict[str, Any]] = _with_node(data, listing)
        return result
    peers: list[dict[str, Any]] = NodeClient(node_url).get_json("/api/v1/peers")["peers"]
    return peers


@peer.command("list")
@click.option(
    "--data",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Your node's data directory",
)
@_node_option
@_json_option
def peer_list(data: Path | None, node_url: str, as_json: bool) -> None:
    """The co-ops your node follows, and how syncing them goes."""
    found = _peers_json(data, node_url)
    if as_json:
        say_json(found)
        return
    if not found:
        say("no peers: follow a co-op with 'coopfed peer add URL'")
    for p in found:
        name = visible(str(p["name"]), MAX_NAME)
        say(f"{p['handle']:<20} {p['status']:<12} {name}  ({p['did']})")
        last = _when(p["last_sync"]) if p.get("last_sync") else "never"
        say(
            f"    {p['url']}: {p['held']} records held, checkpoint {p['verified']}, "
            f"last synced {last}, {p['blocks']} active block(s)"
        )
        if p.get("last_error"):
            say(f"    last problem ({p['last_code']}): {p['last_error']}")


@peer.command("remove")
@click.argument("did")
@_operator_options
def peer_remove(did: str, data: Path | None, node_url: str, admin_token: str | None) -> None:
    """Stop following a co-op (its copy is dropped; equivocation proofs are kept)."""
    _need_operator(data, admin_token)
    if data is not None:

        async def remove(node: Any) -> bool:
            done: bool = await node.peers.remove(did)
            return done

        if not _with_node(data, remove):
            raise CliError(f"your node does not follow {did}")
    else:
        assert admin_token is not None
        NodeClient(node_url).request(
            "DELETE",
            "/api/v1/peers/" + urllib.parse.quote(did, safe=":"),
            headers=_admin(admin_token),
        )
    say(f"no longer following {did}")


# --------------------------------------------------------------------------- policy


@cli.group()
def policy() -> None:
    """The co-op's federation policy: whom it follows, whose blocks it adopts."""


def _adopt_rule(text: str) -> dict[str, Any]:
    k, sep, rest = text.partition(":")
    if not sep or not k.isdigit() or not rest:
        raise click.BadParameter(f"write K:DID[,DID...], got {text!r}", param_hint="--adopt")
    return {"k": int(k), "from": [s.strip() for s in rest.split(",") if s.strip()]}


@policy.command("set")
@click.option("--follow", "follows", multiple=True, help="A pinned co-op's DID (default: all)")
@click.option(
    "--adopt",
    "adopts",
    multiple=True,
    help="Adopt a block when K of these co-ops block: 'K:DID,DID' (repeat; first match wins)",
)
@click.option("--allow", "allows", multiple=True, help="Never adopt a block of PLATFORM:ID")
@click.option("--drafts", is_flag=True, help="Adopted blocks are drafts until the co-op confirms")
@_operator_options
def policy_set(
    follows: tuple[str, ...],
    adopts: tuple[str, ...],
    allows: tuple[str, ...],
    drafts: bool,
    data: Path | None,
    node_url: str,
    admin_token: str | None,
) -> None:
    """Sign a new federation.policy record with the co-op's key (operator)."""
    _need_operator(data, admin_token)
    peers = _peers_json(data, node_url)
    urls = {p["did"]: p["url"] for p in peers}
    chosen = list(follows) or sorted(urls)
    value: dict[str, Any] = {
        "follow": [{"coop": d, "url": urls[d]} if d in urls else d for d in chosen],
        "adopt": [_adopt_rule(a) for a in adopts],
        "allow": list(allows),
        "drafts": drafts,
    }
    if data is not None:

        async def sign(node: Any) -> dict[str, Any]:
            from .fedroutes import policy_from_json, policy_json

            body = policy_from_json(value, pinned=frozenset(urls))
            result = await node.append_own(body, now_ms=now_ms())
            return {"id": result.id.hex(), "index": result.index, "policy": policy_json(body)}

        answer = _with_node(data, sign)
    else:
        assert admin_token is not None
        _, answer = NodeClient(node_url).post_json(
            "/api/v1/policy", value, headers=_admin(admin_token)
        )
    say(f"policy signed: record {answer['id']} at log index {answer['index']}")
    for line in format_policy(answer["policy"]):
        say(line)


def format_policy(p: dict[str, Any]) -> list[str]:
    out = [f"  follows: {', '.join(_handle(f['coop']) for f in p['follow']) or 'nobody'}"]
    for i, r in enumerate(p["adopt"]):
        names = ", ".join(_handle(d) for d in r["from"])
        out.append(f"  rule {i + 1}: adopt a block when {r['k']} of [{names}] block")
    if not p["adopt"]:
        out.append("  adopts nothing: only the co-op's own blocks count")
    if p["allow"]:
        out.append(f"  never adopts blocks of: {', '.join(p['allow'])}")
    if p["drafts"]:
        out.append("  adopted blocks are drafts until the co-op confirms them")
    return out


# --------------------------------------------------------------------------- explain


@blocklist.command("explain")
@_node_option
@click.argument("name", metavar="PLATFORM:ID")
@_json_option
def blocklist_explain(node_url: str, name: str, as_json: bool) -> None:
    """Why a requester is (or is not) on the blocklist, down to the signed records."""
    ref = _requester_arg(name)
    path = (
        "/api/v1/blocklist/explain/"
        + urllib.parse.quote(ref.platform, safe="")
        + "/"
        + urllib.parse.quote(ref.id, safe="")
    )
    why = NodeClient(node_url).get_json(path)
    if as_json:
        say_json(why)
        return
    say(f"{why['requester']}: {(why['status'] or 'not on the blocklist').upper()}")
    for i, step in enumerate(why["steps"], 1):
        say_wrapped(step, f"  {i}. ", "     ")
    if why.get("trace"):
        say("  signed records it rests on:")
        for r in why["trace"]:
            say(
                f"    {r['id']}  {r['type']:<16} #{r['index']:<6} in the log of "
                f"{_handle(r['coop'])}, by {_handle(r['author'])}, {_when(r['ts'])}"
            )
    elif why["records"]:
        say("  signed records it rests on: " + ", ".join(why["records"]))


# --------------------------------------------------------------------------- bundles


@cli.group()
def bundle() -> None:
    """Export verification bundles: one file that proves a decision or a block offline."""


def _write_bundle(client: NodeClient, path: str, out: Path) -> None:
    data = client.get(path, accept="application/vnd.coopfed+msgpack")
    try:
        verdict = verify_bundle(data)
    except BundleError as exc:
        raise CliError(
            f"the node sent a bundle that does not verify ({exc.code}): {exc.message}"
        ) from None
    out.write_bytes(data)
    say(
        f"wrote {out} ({len(data)} bytes): the {verdict.kind} {verdict.subject.hex()} of co-op "
        f"{_handle(verdict.coop)} ({verdict.coop}), proved against its checkpoint of "
        f"{verdict.checkpoint_size} entries"
    )
    say(f"check it anywhere, offline: coopfed verify {out} --trust WITNESS_DID ...")


def _coop_query(coop: str | None) -> str:
    return "" if coop is None else "?" + urllib.parse.urlencode({"coop": coop})


@bundle.command("decision")
@_node_option
@click.argument("decision_id")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--coop", help="A followed co-op's DID, if the decision is theirs")
def bundle_decision(node_url: str, decision_id: str, out: Path, coop: str | None) -> None:
    """Write the bundle that proves a decision: proposal, ballots, roster, charter, proofs."""
    from .cli import _record_id

    rid = _record_id(decision_id, "decision id")
    _write_bundle(
        NodeClient(node_url), f"/api/v1/bundles/decision/{rid.hex()}{_coop_query(coop)}", out
    )


@bundle.command("block")
@_node_option
@click.argument("name", metavar="PLATFORM:ID")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--coop", help="Whose block (default: your co-op's, else the first adopted)")
def bundle_block(node_url: str, name: str, out: Path, coop: str | None) -> None:
    """Write the bundle that proves a requester's block and the decision or flags behind it."""
    ref = _requester_arg(name)
    path = (
        "/api/v1/bundles/block/"
        + urllib.parse.quote(ref.platform, safe="")
        + "/"
        + urllib.parse.quote(ref.id, safe="")
        + _coop_query(coop)
    )
    _write_bundle(NodeClient(node_url), path, out)


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--trust", "trusted", multiple=True, help="A witness co-op's DID you trust (repeat)")
@click.option(
    "--min-witnesses",
    type=click.IntRange(0, 1000),
    help="How many trusted witnesses must have cosigned [default: all you --trust]",
)
@click.option("--coop", "expected", help="The co-op the bundle must be about")
@_json_option
def verify(
    file: Path,
    trusted: tuple[str, ...],
    min_witnesses: int | None,
    expected: str | None,
    as_json: bool,
) -> None:
    """Check a verification bundle offline and say what it proves (exit 1 if it does not)."""
    with file.open("rb") as f:
        data = f.read(MAX_BUNDLE_SIZE + 1)
    witnesses = {}
    for did in dict.fromkeys(trusted):
        try:
            witnesses[witness_verifier(did).label] = did
        except RemoteProtocolError as exc:
            raise CliError(f"--trust {did!r}: {exc.message}") from None
    need = len(witnesses) if min_witnesses is None else min_witnesses
    if need > len(witnesses):
        raise CliError(f"--min-witnesses {need} is more than the {len(witnesses)} you trust")
    try:
        verdict = verify_bundle(
            data,
            trusted_witnesses=[witness_verifier(d) for d in witnesses.values()],
            min_witnesses=need,
            expected_coop=expected,
            now_s=now_ms() // 1000,
        )
    except BundleError as exc:
        raise CliError(f"NOT VERIFIED ({exc.code}): {exc.message}") from None
    named = [witnesses.get(label, label) for label in verdict.witnesses]
    if as_json:
        say_json(
            {
                "verified": True,
                "kind": verdict.kind,
                "coop": verdict.coop,
                "subject": verdict.subject.hex(),
                "checkpoint_size": verdict.checkpoint_size,
                "root": verdict.root_hash.hex(),
                "witnesses": named,
                "summary": list(verdict.summary),
            }
        )
        return
    say(
        f"VERIFIED: {file.name} proves a {verdict.kind} of co-op {_handle(verdict.coop)} "
        f"({verdict.coop})."
    )
    for line in verdict.summary:
        say_wrapped(line, "  ", "  ")
    if named:
        say(f"  Witnessed by {len(named)} co-op(s) you trust:")
        for d in named:
            say(f"    {_handle(d)} ({d})")
