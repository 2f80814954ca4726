"""Commands for requester renames and replies, and for a member leaving the co-op.

``requester alias`` and ``requester bind-key`` are operator acts (the co-op's key signs
them after the operator checked the facts); ``reply`` is signed by a requester with the key
the co-op bound to it; ``member resign`` by the member, after which governance revokes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from coopfed.protocol.bodies import MemberResign, Reply

from .cli import (
    CliError,
    NodeClient,
    _key_option,
    _node_option,
    _record_id,
    _requester_arg,
    _submit,
    cli,
    member,
    now_ms,
    requester,
    say,
)
from .cli_fed import _admin, _need_operator, _operator_options, _with_node


def _operator_post(
    node_url: str, admin_token: str | None, path: str, value: dict[str, Any]
) -> dict[str, Any]:
    """Ask a running node, with the admin token, to sign and append a record."""
    if admin_token is None:
        raise click.UsageError("give --data DIR, or --node URL with --admin-token TOKEN")
    _, answer = NodeClient(node_url).post_json(path, value, headers=_admin(admin_token))
    return dict(answer)


@requester.command("alias")
@click.argument("new")
@click.option("--of", "old", required=True, help="The requester's earlier PLATFORM:ID")
@_operator_options
def requester_alias(
    new: str, old: str, data: Path | None, node_url: str, admin_token: str | None
) -> None:
    """Record that requester NEW (PLATFORM:ID) is the renamed OLD (operator)."""
    _need_operator(data, admin_token)
    _requester_arg(new)
    _requester_arg(old)
    if data is not None:
        from coopfed.protocol.bodies import RequesterAlias

        body = RequesterAlias(requester=_requester_arg(new), alias_of=_requester_arg(old))

        async def sign(node: Any) -> Any:
            return await node.append_own(body, now_ms=now_ms())

        result = _with_node(data, sign)
        answer = {"id": result.id.hex(), "index": result.index}
    else:
        answer = _operator_post(
            node_url,
            admin_token,
            "/api/v1/operator/requester-alias",
            {"requester": new, "alias_of": old},
        )
    say(
        f"{new} is now known as the same requester as {old}: record {answer['id']} "
        f"at log index {answer['index']}"
    )


@requester.command("bind-key")
@click.argument("name")
@click.argument("did")
@click.option(
    "--evidence",
    required=True,
    help="How the requester proved the key is theirs (kept in the record)",
)
@_operator_options
def requester_bind_key(
    name: str,
    did: str,
    evidence: str,
    data: Path | None,
    node_url: str,
    admin_token: str | None,
) -> None:
    """Let requester NAME (PLATFORM:ID) reply with key DID (operator)."""
    _need_operator(data, admin_token)
    _requester_arg(name)
    if data is not None:
        from coopfed.protocol.bodies import RequesterKey
        from coopfed.protocol.errors import RemoteProtocolError

        try:
            body = RequesterKey.from_value(
                {"evidence": evidence, "key": did, "requester": _requester_arg(name).to_value()}
            )
        except RemoteProtocolError as exc:
            raise CliError(exc.message) from None

        async def sign(node: Any) -> Any:
            return await node.append_own(body, now_ms=now_ms())

        result = _with_node(data, sign)
        answer = {"id": result.id.hex(), "index": result.index}
    else:
        answer = _operator_post(
            node_url,
            admin_token,
            "/api/v1/operator/requester-key",
            {"requester": name, "key": did, "evidence": evidence},
        )
    say(f"{did} may now reply for {name}: record {answer['id']} at log index {answer['index']}")


@member.command("resign")
@_key_option
@_node_option
@click.option("--text", help="A word to the members (optional)")
@click.confirmation_option(prompt="Leave the co-op? Your records stay in its log.")
def member_resign(key_file: Path, node_url: str, text: str | None) -> None:
    """Leave the co-op; its governance then ends your membership."""
    _submit(key_file, node_url, lambda _c: MemberResign(text=text), "resigned")


@cli.command("reply")
@_key_option
@_node_option
@click.option("--requester", "name", required=True, help="The requester you reply for")
@click.option("--about", help="The id of the rating, flag or appeal you answer")
@click.argument("text")
def reply(key_file: Path, node_url: str, name: str, about: str | None, text: str) -> None:
    """Reply as a requester, signed with the key the co-op bound to you."""
    ref = _requester_arg(name)
    about_id = _record_id(about) if about else None
    _submit(key_file, node_url, lambda _c: Reply(requester=ref, text=text, about=about_id), "reply")
