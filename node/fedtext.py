"""Plain-text lines about the federation, for ``coopfed status`` and ``requester show``.

Co-op names are the peers' own: capped here so that the facts after them stay on screen
(the command line shows every line it prints through :func:`~.safetext.visible`).
"""

from __future__ import annotations

from typing import Any

from coopfed.protocol.errors import RemoteProtocolError
from coopfed.protocol.identity import Identity

from .safetext import MAX_NAME, visible


def _handle(did: str) -> str:
    try:
        return Identity.from_did(did).handle
    except RemoteProtocolError:
        return "?"


def _name(name: object) -> str:
    return visible(name, MAX_NAME) if isinstance(name, str) else ""


def profile_federation_lines(profile: dict[str, Any]) -> list[str]:
    """A requester's profile across the federation, for ``requester show``."""
    fed = profile.get("federation")
    if not fed or len(fed["coops"]) < 2:
        return []
    c = fed["combined"]
    out = [f"  across the federation: {c['reports']} rating(s), flags {sum(c['flags'].values())}"]
    for share in fed["coops"]:
        mark = " (this co-op)" if share["own"] else ""
        if share["distrusted"]:
            mark += " (DISTRUSTED: caught equivocating, not counted)"
        blocked = ", blocks it" if share["blocked"] else ""
        out.append(
            f"    {_name(share['name']) or _handle(share['coop'])}{mark}: "
            f"{share['reports']} rating(s), "
            f"{share['flags']} active flag(s){blocked}"
        )
    return out


def federation_status_lines(st: dict[str, Any]) -> list[str]:
    """The federation part of ``coopfed status``."""
    fed = st.get("federation")
    if not fed:
        return []
    out = []
    for p in fed["peers"]:
        out.append(
            f"  follows {_name(p['name']) or p['handle']} ({p['did']}): {p['status']}, "
            f"{p['held']} records held"
            + (f"; last problem: {p['last_error']}" if p.get("last_error") else "")
        )
    for e in fed["equivocations"]:
        out.append(
            f"  WARNING: co-op {e['coop']} EQUIVOCATED (signed two histories); proof {e['id']} "
            f"at /api/v1/equivocations/{e['coop']}; its blocks are not adopted"
        )
    if fed["witnessed_by"]:
        out.append(
            "  latest checkpoint witnessed by: "
            + ", ".join(_handle(w) for w in fed["witnessed_by"])
        )
    return out
