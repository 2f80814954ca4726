"""Vectors for spec/platforms.md: ids made canonical, and pasted text read into one id.

Each case is written here by hand from the table and the rules of platforms.md (the expected
id or code is not computed by the code under test); generating checks that
``coopfed.protocol.platforms`` agrees with every case, and fails otherwise. The JavaScript
tests run the same cases through node/static/js/paste.js.
"""

from __future__ import annotations

from typing import Any

from coopfed.protocol.errors import PlatformInputError
from coopfed.protocol.platforms import canonical_id, parse_pasted

STUDY = "65a1b2c3d4e5f60718293a4b"
RESEARCHER = "5f0c3b1e2d9a8c7b6a5f4e3d"
MTURK_REQ = "A3JH8W2N5R6T0Y"
MTURK_GROUP = "3ZXYWVUTSRQPONMLKJIHGFEDCBA012"
TOLOKA_REQ = "6c6e20dc86cca2ae787afcb2629de162"
CONNECT_PROJECT = "76e70db432db4eacb518c37c38d73cc2"

#: (platform, kind, text) -> the canonical id, or the code of the refusal.
CANONICAL: list[tuple[str, str, str, str]] = [
    ("prolific", "requester", RESEARCHER, RESEARCHER),
    ("prolific", "requester", RESEARCHER.upper(), RESEARCHER),
    ("prolific", "requester", f"  {RESEARCHER}\u00a0", RESEARCHER),
    ("Prolific", "requester", RESEARCHER, RESEARCHER),
    ("prolific", "requester", "5f0a4c2b9d1e", "bad_platform_id"),
    ("prolific", "requester", RESEARCHER + "0", "bad_platform_id"),
    ("prolific", "requester", "team", "bad_platform_id"),
    ("prolific", "task", STUDY.upper(), STUDY),
    ("toloka", "requester", TOLOKA_REQ.upper(), TOLOKA_REQ),
    ("toloka", "task", "32267581", "32267581"),
    ("toloka", "task", "pool-7", "bad_platform_id"),
    ("toloka", "task", "123456789012345678901", "bad_platform_id"),
    ("connect", "task", "FF4E356E38", "ff4e356e38"),
    ("connect", "task", CONNECT_PROJECT, CONNECT_PROJECT),
    ("connect", "task", "ff4e356e3", "bad_platform_id"),
    ("connect", "requester", "Some Lab/42", "bad_platform_id"),
    ("connect", "requester", "lab-42", "lab-42"),
    ("cloudresearch", "task", "FF4E356E38", "ff4e356e38"),
    ("mturk", "requester", MTURK_REQ.lower(), MTURK_REQ),
    ("mturk", "requester", "R1", "R1"),
    ("mturk", "requester", "A3JH-8W2N", "bad_platform_id"),
    ("mturk", "requester", "Ä1", "bad_platform_id"),
    ("mturk", "task", MTURK_GROUP.lower(), MTURK_GROUP),
    ("mturk", "batch", "batch-2026-01-06", "batch-2026-01-06"),
    ("clickworker", "requester", "team/Alpha-1", "team/Alpha-1"),
    ("clickworker", "requester", "has space", "bad_platform_id"),
    ("clickworker", "requester", "x" * 129, "bad_platform_id"),
    ("https", "requester", "//worker.mturk.com/requesters/A3JH8W2N5R6T0Y", "not_platform_id"),
    ("Mechanical Turk", "requester", MTURK_REQ, "not_platform_id"),
]

#: (text, kind) -> (platform, kind, id, removed) or the code of the refusal.
PASTED: list[tuple[str, str, tuple[str, str, str, list[str]] | str]] = [
    # MTurk, kept for history.
    (
        f"https://worker.mturk.com/requesters/{MTURK_REQ}/projects?ref=w_pl_prvw",
        "requester",
        ("mturk", "requester", MTURK_REQ, []),
    ),
    (
        f"HTTPS://Worker.MTurk.com/requesters/{MTURK_REQ.lower()}/projects",
        "requester",
        ("mturk", "requester", MTURK_REQ, []),
    ),
    (
        f"worker.mturk.com/requesters/{MTURK_REQ}",
        "requester",
        ("mturk", "requester", MTURK_REQ, []),
    ),
    (
        f"https://worker.mturk.com/projects/{MTURK_GROUP}/tasks/3HIT0ID?assignment_id=3ASG&ref=w_pl_prvw",
        "requester",
        ("mturk", "task", MTURK_GROUP, ["assignment_id"]),
    ),
    (
        "https://worker.mturk.com/contact_requester/hit_type_messages/new?"
        f"hit_type_message%5Bhit_type_id%5D=3TYPE&hit_type_message%5Brequester_id%5D={MTURK_REQ}",
        "requester",
        ("mturk", "requester", MTURK_REQ, []),
    ),
    (
        f"https://www.mturk.com/mturk/searchbar?selectedSearchType=hitgroups&requesterId={MTURK_REQ}",
        "requester",
        ("mturk", "requester", MTURK_REQ, []),
    ),
    (
        f"http://www.mturk.com/mturk/preview?groupId={MTURK_GROUP}",
        "requester",
        ("mturk", "task", MTURK_GROUP, []),
    ),
    (
        f"https://turkerview.com/requesters/{MTURK_REQ}/reviews",
        "requester",
        ("mturk", "requester", MTURK_REQ, []),
    ),
    ("https://worker.mturk.com/tasks?workerId=A9WORKER", "requester", "no_id_in_address"),
    ("https://worker.mturk.com/requesters/A3JH-8W2N/projects", "requester", "bad_platform_id"),
    # Prolific.
    (
        f"https://app.prolific.com/studies/{STUDY.upper()}/start?source=pa",
        "requester",
        ("prolific", "task", STUDY, []),
    ),
    (f"https://app.prolific.co/studies/{STUDY}", "task", ("prolific", "task", STUDY, [])),
    (f"app.prolific.ac/studies/{STUDY}#top", "task", ("prolific", "task", STUDY, [])),
    (
        f"https://app.prolific.com/submissions/complete?cc=C1A889GX&STUDY_ID={STUDY}",
        "task",
        ("prolific", "task", STUDY, ["cc"]),
    ),
    (
        "https://survey.example.edu/s/q1?PROLIFIC_PID=5e9d0c1b2a3f4e5d6c7b8a90"
        f"&STUDY_ID={STUDY}&SESSION_ID=abc123&utm_source=x",
        "task",
        ("prolific", "task", STUDY, ["PROLIFIC_PID", "SESSION_ID"]),
    ),
    (f"https://survey.example.edu/?STUDY_ID={STUDY}", "task", "unknown_address"),
    ("https://app.prolific.com/studies", "requester", "no_id_in_address"),
    ("https://app.prolific.com/submissions/complete?cc=C1A889GX", "task", "no_id_in_address"),
    ("https://app.prolific.com/studies/12345", "task", "bad_platform_id"),
    (f"prolific:{RESEARCHER}", "requester", ("prolific", "requester", RESEARCHER, [])),
    (
        f"  Prolific : {RESEARCHER.upper()} \n",
        "requester",
        ("prolific", "requester", RESEARCHER, []),
    ),
    (f"\ufeffprolific:{STUDY}", "task", ("prolific", "task", STUDY, [])),
    ("prolific:5f0a4c2b9d1e", "requester", "bad_platform_id"),
    # Toloka.
    ("https://toloka.ai/task/32267581/", "task", ("toloka", "task", "32267581", [])),
    (
        "https://we.toloka.ai/ru/task/32267581/00000f80eb--617d0d82a52cc70d7118c614?refUuid=x",
        "requester",
        ("toloka", "task", "32267581", []),
    ),
    (
        "https://toloka.yandex.ru/task/81776?user_id=f2a3",
        "task",
        ("toloka", "task", "81776", ["user_id"]),
    ),
    ("https://toloka.yandex.com/tasks?projectId=81776", "task", "no_id_in_address"),
    (f"TOLOKA:{TOLOKA_REQ.upper()}", "requester", ("toloka", "requester", TOLOKA_REQ, [])),
    # CloudResearch Connect.
    (
        f"https://connect.cloudresearch.com/participant/project/{CONNECT_PROJECT}/complete",
        "task",
        ("connect", "task", CONNECT_PROJECT, []),
    ),
    (
        "https://connect.cloudresearch.com/participant/dashboard/FF4E356E38/details?participantId=P1",
        "task",
        ("connect", "task", "ff4e356e38", ["participantId"]),
    ),
    ("https://connect.cloudresearch.com/participant/dashboard", "task", "no_id_in_address"),
    ("cloudresearch:FF4E356E38", "task", ("connect", "task", "ff4e356e38", [])),
    # A site the table does not know, and text that is neither.
    ("https://example.com/requesters/A1", "requester", "unknown_address"),
    ("https://app.prolific.com@evil.example/studies/" + STUDY, "task", "unknown_address"),
    (MTURK_REQ, "requester", "not_platform_id"),
    ("", "requester", "not_platform_id"),
    ("   \t ", "requester", "not_platform_id"),
    ("https:foo", "requester", "not_platform_id"),
    ("Mechanical Turk:" + MTURK_REQ, "requester", "not_platform_id"),
    ("x" * 4097, "requester", "not_platform_id"),
    # Platforms the table does not know keep the general rule.
    ("clickworker:team/Alpha-1", "requester", ("clickworker", "requester", "team/Alpha-1", [])),
    ("ClickWorker: team/Alpha-1 ", "task", ("clickworker", "task", "team/Alpha-1", [])),
    ("clickworker:has space", "requester", "bad_platform_id"),
]


def _canonical_case(platform: str, kind: str, text: str, want: str) -> dict[str, Any]:
    case: dict[str, Any] = {"platform": platform, "kind": kind, "text": text}
    try:
        got = canonical_id(platform, kind, text)
    except PlatformInputError as exc:
        assert want == exc.code, f"canonical {platform} {text!r}: expected {want}, got {exc!r}"
        case["code"] = exc.code
    else:
        assert want == got, f"canonical {platform} {text!r}: expected {want}, got {got!r}"
        case["id"] = got
    return case


def _pasted_case(text: str, kind: str, want: Any) -> dict[str, Any]:
    case: dict[str, Any] = {"text": text, "kind": kind}
    try:
        got = parse_pasted(text, kind=kind)
    except PlatformInputError as exc:
        assert want == exc.code, f"pasted {text[:60]!r}: expected {want}, got {exc!r}"
        case["code"] = exc.code
    else:
        seen = (got.platform, got.kind, got.id, list(got.removed))
        assert want == seen, f"pasted {text[:60]!r}: expected {want}, got {seen}"
        case.update(platform=got.platform, result_kind=got.kind, id=got.id)
        case["removed"] = list(got.removed)
    return case


def generate() -> dict[str, Any]:
    canonical = [_canonical_case(*c) for c in CANONICAL]
    pasted = [_pasted_case(*c) for c in PASTED]
    codes = {c["code"] for c in canonical + pasted if "code" in c}
    assert codes == {"bad_platform_id", "no_id_in_address", "unknown_address", "not_platform_id"}
    return {
        "provenance": {
            "spec": "spec/platforms.md",
            "generator": "spec/vectors/gen_platforms.py",
            "table": "spec/platforms.json",
            "method": "every case written by hand from the table and platforms.md §3 and §5; "
            "generating checks protocol/platforms.py against each",
        },
        "notes": [
            "canonical: canonical_id(platform, kind, text) gives id, or raises "
            "PlatformInputError with code.",
            "pasted: parse_pasted(text, kind) gives platform, result_kind, id and removed (the "
            "worker-id parameters dropped), or raises PlatformInputError with code.",
        ],
        "canonical": canonical,
        "pasted": pasted,
    }
