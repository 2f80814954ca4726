"""The member web app in headless Chromium against a real node on 127.0.0.1.

A member makes a key in the browser, redeems an invite, rates, flags, proposes an idea,
votes, and sees the decision appear after the node's clock passes the vote's close; a
backup made on one "device" (browser context) restores on another; applying to a co-op
that admits by vote waits for a member's sponsorship, and a member sponsors from the app.
Every page is checked for what a screen reader and a phone need, and photographed at phone
and desktop widths.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from conftest import DESKTOP, PHONE, SCREENSHOTS, LiveNode
from coopkit import DAY, HOUR, REQ

from coopfed.node.webapp import PAGES
from coopfed.protocol.bodies import (
    Ballot,
    Flag,
    FlagReason,
    MemberApply,
    Proposal,
    ProposalKind,
    Rating,
    RequesterRef,
)
from coopfed.protocol.identity import SigningIdentity

PASSPHRASE = "kettle orbit sandal maple"
REQUESTER = f"{REQ.platform}:{REQ.id}"


class Watch:
    """What a page did that it should not: script errors, refusals by the CSP, outside requests."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.problems: list[str] = []

    def attach(self, page: Any) -> None:
        page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        page.on("console", self._console)
        page.on("request", self._request)

    def _console(self, msg: Any) -> None:
        text = msg.text
        # The node's deliberate refusals show in the console as failed fetches; they are fine.
        if msg.type == "error" and "Failed to load resource" not in text:
            self.problems.append(f"console: {text}")

    def _request(self, request: Any) -> None:
        url = request.url
        if not (url.startswith(self.origin + "/") or url.startswith(("blob:", "data:"))):
            self.problems.append(f"request outside the node: {url}")

    def check(self) -> None:
        assert not self.problems, "\n".join(self.problems)


async def new_page(
    browser: Any, live: LiveNode, viewport: dict[str, int]
) -> tuple[Any, Any, Watch]:
    context = await browser.new_context(
        viewport=viewport, accept_downloads=True, base_url=live.url, locale="en-US"
    )
    page = await context.new_page()
    page.set_default_timeout(15_000)
    watch = Watch(live.url)
    watch.attach(page)
    return context, page, watch


async def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    kind = "phone" if width < 600 else "desktop"
    await page.screenshot(path=str(SCREENSHOTS / f"{name}-{kind}.png"), full_page=True)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def status_text(page: Any, selector: str, pattern: str) -> str:
    """Wait for the message region `selector` to hold text matching `pattern`; return it."""
    from playwright.async_api import expect

    region = page.locator(selector)
    await expect(region).to_contain_text(re.compile(pattern), timeout=15_000)
    return str(await region.inner_text())


async def make_key(page: Any, token: str | None = None) -> tuple[str, str]:
    """Make a key on the Join page; returns (handle, did)."""
    from playwright.async_api import expect

    await page.goto("/app/join" + (f"#invite={token}" if token else ""))
    await page.get_by_label("Passphrase", exact=True).fill(PASSPHRASE)
    await page.get_by_label("Passphrase again").fill(PASSPHRASE)
    await page.get_by_role("button", name="Make my key").click()
    handle = page.get_by_test_id("handle")
    await expect(handle).to_be_visible(timeout=30_000)
    return str(await handle.inner_text()), str(await page.get_by_test_id("did").inner_text())


async def a11y_problems(page: Any) -> list[str]:
    """The basic checks a screen reader and a keyboard need, run in the page."""
    return list(
        await page.evaluate(
            """() => {
      const problems = [];
      if (document.querySelectorAll("main").length !== 1) problems.push("not exactly one <main>");
      if (document.querySelectorAll("h1").length !== 1) problems.push("not exactly one <h1>");
      if (!document.querySelector("nav[aria-label]")) problems.push("no labelled <nav>");
      if (!document.documentElement.lang) problems.push("no lang on <html>");
      for (const c of document.querySelectorAll("input, select, textarea")) {
        if (c.type === "hidden" || c.closest("[hidden]")) continue;
        const named = (c.labels && c.labels.length) || c.getAttribute("aria-label")
          || c.getAttribute("aria-labelledby");
        if (!named) problems.push(`unlabelled ${c.tagName.toLowerCase()} ${c.id || c.name}`);
      }
      for (const b of document.querySelectorAll("button, a[href]")) {
        if (b.closest("[hidden]")) continue;
        if (!(b.textContent.trim() || b.getAttribute("aria-label"))) {
          problems.push("nameless control");
        }
      }
      const ids = [...document.querySelectorAll("[id]")].map((e) => e.id);
      const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
      if (twice.length) problems.push(`duplicate ids: ${twice.join(", ")}`);
      const refs = "[aria-labelledby], [aria-describedby], [aria-controls]";
      for (const e of document.querySelectorAll(refs)) {
        for (const attr of ["aria-labelledby", "aria-describedby", "aria-controls"]) {
          for (const id of (e.getAttribute(attr) || "").split(/\\s+/).filter(Boolean)) {
            if (!document.getElementById(id)) problems.push(`${attr} names missing #${id}`);
          }
        }
      }
      if (document.documentElement.scrollWidth > window.innerWidth + 1) {
        problems.push(`wider than the screen: ${document.documentElement.scrollWidth}px`);
      }
      return problems;
    }"""
        )
    )


# --------------------------------------------------------------------------- the journey


async def test_a_member_joins_rates_flags_proposes_votes_and_sees_the_decision(
    live: LiveNode, browser: Any
) -> None:
    from playwright.async_api import expect

    context, page, watch = await new_page(browser, live, DESKTOP)

    await page.goto("/app/")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Night Shift Co-op")
    await expect(page.locator("#start")).to_be_visible()
    await expect(page.locator("#whoami")).to_contain_text("no key in this browser")

    # Onboarding: the invite code arrives in the link's fragment and leaves the address bar.
    token = await live.invite()
    await page.goto(f"/app/join#invite={token}")
    await expect(page.get_by_label("Invite code", exact=True)).to_be_hidden()
    # (The page takes the code and rewrites the address once its script has run: wait.)
    await expect(page).to_have_url(re.compile(r"^[^#]*$"))
    await shot(page, "join-start")
    await page.get_by_label("Passphrase", exact=True).fill("short")
    await page.get_by_label("Passphrase again").fill("short")
    await page.get_by_role("button", name="Make my key").click()
    await status_text(page, "#create-status", "at least 10 characters")
    await page.get_by_label("Passphrase", exact=True).fill(PASSPHRASE)
    await page.get_by_label("Passphrase again").fill(PASSPHRASE)
    await page.get_by_role("button", name="Make my key").click()
    handle_el = page.get_by_test_id("handle")
    await expect(handle_el).to_be_visible(timeout=30_000)
    handle = await handle_el.inner_text()
    member_did = await page.get_by_test_id("did").inner_text()
    assert re.fullmatch(r"[a-z]+_[a-z]+", handle)
    assert member_did.startswith("did:key:z6Mk")
    await expect(page.get_by_label("Invite code", exact=True)).to_have_value(token)
    await shot(page, "join")

    # The key in IndexedDB is a CryptoKey that cannot be exported; the seed is not stored.
    stored = await page.evaluate(
        """async () => {
      const { loadKey } = await import("/static/app/keystore.js");
      const k = await loadKey();
      let exported = "no";
      try { await crypto.subtle.exportKey("jwk", k.privateKey); exported = "yes"; } catch {}
      return { extractable: k.privateKey.extractable, exported, type: k.privateKey.type,
               keys: Object.keys(k).sort(), backup: Object.keys(k.backup).sort() };
    }"""
    )
    assert stored["extractable"] is False and stored["exported"] == "no"
    assert stored["type"] == "private"
    assert "seed" not in stored["keys"]
    assert stored["backup"] == sorted(
        ["format", "version", "did", "handle", "node", "coop", "created", "kdf", "cipher"]
    )

    # The backup file: passphrase-encrypted, PBKDF2 with at least 600,000 iterations.
    async with page.expect_download() as download_info:
        await page.locator("#download").click()
    download = await download_info.value
    assert download.suggested_filename == f"coopfed-key-{handle}.json"
    backup = json.loads(Path(await download.path()).read_text())
    assert backup["did"] == member_did and backup["format"] == "coopfed-key-backup"
    assert backup["kdf"] == {
        "name": "PBKDF2",
        "hash": "SHA-256",
        "iterations": 600_000,
        "salt": backup["kdf"]["salt"],
    }
    assert len(bytes.fromhex(backup["cipher"]["ciphertext"])) == 48  # 32-byte seed + GCM tag

    # Before joining, the node refuses a rating: the page says why in plain words.
    await page.goto(f"/app/rate?platform={REQ.platform}&requester={REQ.id}")
    await expect(page.locator("#whoami")).to_contain_text("not a member yet")
    await page.locator("label").filter(has_text=re.compile(r"^2$")).first.click()
    await page.get_by_role("button", name="Sign and send rating").click()
    text = await status_text(page, "#rate-status", "not a member of this co-op yet")
    assert "not_member" not in text.split("Details")[0]

    # Join with the invite.
    await page.goto(f"/app/join#invite={token}")
    await page.get_by_role("button", name="Join with this invite").click()
    await status_text(page, "#join-done", f"Welcome to Night Shift Co-op, {handle}")
    await expect(page.locator("#whoami")).to_contain_text("member")
    members = await live.get("/api/v1/members")
    assert member_did in [m["did"] for m in members["members"]]
    # A used invite is refused in plain words (here by a second device's new key).
    context2, page2, watch2 = await new_page(browser, live, PHONE)
    await make_key(page2, token)
    await page2.get_by_role("button", name="Join with this invite").click()
    await status_text(page2, "#invite-status", "That invite has been used already")
    await shot(page2, "join-refused")
    watch2.check()
    await context2.close()

    # Rate.
    await page.goto(f"/app/rate?platform={REQ.platform}&requester={REQ.id}")
    for dimension, score in (("Pay", "2"), ("Fairness", "1"), ("Communication", "3")):
        group = page.get_by_role("group", name=re.compile(dimension))
        await group.locator("label").filter(has_text=re.compile(f"^{score}")).click()
    await page.get_by_label("Effective hourly pay, in dollars").fill("4.50")
    await page.get_by_label("Minutes worked").fill("40")
    await page.get_by_label("Was any of your work rejected?").select_option("some")
    await page.get_by_role("radio", name="No", exact=True).check()
    await page.get_by_label("What happened?").fill("Paid $3 for a 40-minute survey.")
    await expect(page.locator("#text-count")).to_have_text("31 of 1000 characters")
    await shot(page, "rate")
    await page.get_by_role("button", name="Sign and send rating").click()
    await status_text(page, "#rate-status", f"Your rating of {REQUESTER} is in the co-op's log")

    # Flag a HIT group.
    await page.goto(f"/app/flag?platform={REQ.platform}&requester={REQ.id}")
    await page.get_by_role("button", name="Sign and send flag").click()
    await status_text(page, "#flag-status", "Give the HIT group ID")
    await page.get_by_label("HIT group ID").fill("3HITGROUPXYZ")
    await page.get_by_role("radio", name=re.compile("^Underpaid")).check()
    await page.get_by_role("radio", name=re.compile("^Other")).check()
    await page.get_by_role("button", name="Sign and send flag").click()
    await status_text(page, "#flag-status", "say in the note what happened")
    await page.get_by_role("radio", name=re.compile("^Underpaid")).check()
    await shot(page, "flag")
    await page.get_by_role("button", name="Sign and send flag").click()
    await status_text(page, "#flag-status", "Your flag on HIT group 3HITGROUPXYZ")

    # The requester's profile shows both.
    await page.goto(f"/app/requester?platform={REQ.platform}&requester={REQ.id}")
    profile = page.locator("#profile")
    await expect(profile).to_contain_text("1 rating")
    await expect(profile).to_contain_text("Half the reports say less than $4.50/hour")
    await expect(profile).to_contain_text("below the co-op's minimum of $12.00/hour")
    await expect(page.get_by_role("row", name=re.compile("Underpaid"))).to_contain_text("1")
    await expect(page.get_by_role("row", name=re.compile("^Pay how well"))).to_contain_text(
        "2.00 of 5"
    )
    await expect(profile).to_contain_text("Not blocked")

    # Propose an idea: the counter counts as the protocol does, and stops a long pitch.
    await page.goto("/app/propose")
    pitch = page.get_by_label(re.compile("^Pitch"))
    await pitch.fill("x" * 150)
    await expect(page.locator("#pitch-count")).to_have_text("150 of 140 characters: 10 too many")
    await expect(page.locator("#pitch-count-sr")).to_have_text("10 characters too many")
    await page.get_by_role("button", name="Sign and send proposal").click()
    await status_text(page, "#propose-status", "keep it to 140")
    idea = "Share a list of survey requesters who pay on time 🙂"
    await pitch.fill(idea)
    await expect(page.locator("#pitch-count")).to_have_text(f"{len(idea)} of 140 characters")
    await page.get_by_label("The argument").fill("So new members find good work sooner.")
    await shot(page, "propose")
    await page.get_by_role("button", name="Sign and send proposal").click()
    await status_text(page, "#propose-status", "Your proposal is open for voting for 1 hour")

    # Vote on it; two founders vote too, through the API.
    await page.goto("/app/proposals")
    card = page.locator("article.proposal", has_text=idea)
    await expect(card).to_contain_text("Voting closes in")
    await card.get_by_role("button", name="Support").click()
    await status_text(page, f"article.proposal:has-text('{idea[:20]}') .card-status", "is counted")
    await expect(card.get_by_role("button", name="Support")).to_have_attribute(
        "aria-pressed", "true"
    )
    open_list = await live.get("/api/v1/proposals?status=open")
    pid = next(p["id"] for p in open_list["proposals"] if p["body"]["pitch"] == idea)
    for founder in ("ana", "bo"):
        await live.post(live.sign(founder, Ballot(proposal=bytes.fromhex(pid), choice="up")))
    await page.reload()
    card = page.locator("article.proposal", has_text=idea)
    await expect(card.get_by_role("row", name=re.compile("^Support"))).to_contain_text("3 votes")
    await expect(card).to_contain_text("3 of 4 members voted")
    await expect(card).to_contain_text("you chose Support")
    await shot(page, "proposals")

    # The node's clock passes the close: a late vote is refused in plain words...
    live.clock.advance(2 * HOUR)
    await card.get_by_role("button", name="Oppose").click()
    await status_text(
        page,
        f"article.proposal:has-text('{idea[:20]}') .card-status",
        "Voting on this proposal has closed",
    )

    # ...and the decision appears.
    async def decided() -> bool:
        found = await live.get("/api/v1/proposals?status=decided")
        return any(p["id"] == pid for p in found["proposals"])

    await eventually(decided)
    await page.goto("/app/decisions")
    decision = page.locator("article.proposal", has_text=idea)
    await expect(decision).to_contain_text("Launched")
    await expect(decision.get_by_role("row", name=re.compile("^Support"))).to_contain_text(
        "3 votes"
    )
    await expect(decision.get_by_role("link", name="The signed decision")).to_be_visible()
    # Where the node serves verification bundles, the decision links to its own.
    paths = (await live.get("/openapi.json"))["paths"]
    proof = decision.get_by_role("link", name="proof for anyone to check offline")
    if "/api/v1/bundles/decision/{id}" in paths:
        href = await proof.get_attribute("href")
        async with live.http.get(f"{live.url}{href}") as resp:
            assert resp.status == 200, await resp.text()
    else:
        await expect(proof).to_have_count(0)
    await shot(page, "decisions")

    watch.check()
    await context.close()


# --------------------------------------------------------------------------- backups


async def test_a_backup_restores_the_same_key_on_another_device(
    live: LiveNode, browser: Any, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    context, page, watch = await new_page(browser, live, DESKTOP)
    handle, member_did = await make_key(page)
    async with page.expect_download() as download_info:
        await page.locator("#download").click()
    backup = tmp_path / "backup.json"
    await (await download_info.value).save_as(str(backup))

    # Another device: a fresh browser profile.
    other, page2, watch2 = await new_page(browser, live, PHONE)
    await page2.goto("/app/join")
    await page2.get_by_text("I already have a key").click()
    not_json = tmp_path / "notes.json"
    not_json.write_text("my shopping list")
    await page2.get_by_label("Backup file").set_input_files(str(not_json))
    await page2.get_by_label("Its passphrase").fill(PASSPHRASE)
    await page2.get_by_role("button", name="Restore my key").click()
    await status_text(page2, "#restore-status", "isn't a coopfed key backup")
    await page2.get_by_label("Backup file").set_input_files(str(backup))
    await page2.get_by_label("Its passphrase").fill("not the passphrase")
    await page2.get_by_role("button", name="Restore my key").click()
    await status_text(page2, "#restore-status", "That passphrase doesn't open this backup")
    await shot(page2, "restore-refused")
    await page2.get_by_label("Its passphrase").fill(PASSPHRASE)
    await page2.get_by_role("button", name="Restore my key").click()
    await expect(page2.get_by_test_id("did")).to_have_text(member_did, timeout=30_000)
    await expect(page2.get_by_test_id("handle")).to_have_text(handle)
    await status_text(page2, "#invite-status", f"Welcome back, {handle}. Next, join the co-op.")

    # Both devices sign as the same member: the first joins, the second is a member too.
    token = await live.invite()
    await page.goto(f"/app/join#invite={token}")
    await page.get_by_role("button", name="Join with this invite").click()
    await status_text(page, "#join-done", "member now")
    await page2.goto("/app/key")
    await expect(page2.locator("#identity")).to_contain_text("Member")
    await shot(page2, "key")

    # A new passphrase, then removing the key needs it.
    await page2.get_by_text("Change the backup passphrase").click()
    await page2.get_by_label("Current passphrase").fill(PASSPHRASE)
    await page2.get_by_label("New passphrase", exact=True).fill("another long passphrase")
    await page2.get_by_label("New passphrase again").fill("another long passphrase")
    await page2.get_by_role("button", name="Change passphrase").click()
    await status_text(page2, "#change-status", "Done")
    await page2.get_by_label("Your passphrase, to show you can restore it").fill(PASSPHRASE)
    await page2.get_by_role("button", name="Remove key from this browser").click()
    await status_text(page2, "#forget-status", "That passphrase doesn't open this backup")
    await page2.get_by_label("Your passphrase, to show you can restore it").fill(
        "another long passphrase"
    )
    await page2.get_by_role("button", name="Remove key from this browser").click()
    await status_text(page2, "#key-status", "Your key is removed from this browser")
    await expect(page2.locator("#whoami")).to_contain_text("no key in this browser")

    watch.check()
    watch2.check()
    await context.close()
    await other.close()


async def test_an_invite_code_in_the_query_string_is_not_taken(
    live: LiveNode, browser: Any
) -> None:
    # A query string reaches the node (and its access log); only the fragment stays in the
    # browser. The page took `?invite=` too before issue 11; now it says why it does not.
    from playwright.async_api import expect

    context, page, watch = await new_page(browser, live, PHONE)
    token = await live.invite()
    await page.goto(f"/app/join?invite={token}")
    said = await status_text(page, "#link-warning", "not used")
    assert token not in said
    await expect(page).to_have_url(re.compile(r"/app/join$"))  # out of the address bar
    await shot(page, "join-query-invite")
    await page.get_by_label("Passphrase", exact=True).fill(PASSPHRASE)
    await page.get_by_label("Passphrase again").fill(PASSPHRASE)
    await page.get_by_role("button", name="Make my key").click()
    await expect(page.get_by_test_id("handle")).to_be_visible(timeout=30_000)
    await expect(page.get_by_label("Invite code", exact=True)).to_have_value("")
    assert await a11y_problems(page) == []
    # The same code in the fragment is taken, as ever.
    await page.goto(f"/app/join#invite={token}")
    await expect(page.get_by_label("Invite code", exact=True)).to_have_value(token)
    await expect(page.locator("#link-warning")).to_be_empty()
    watch.check()
    await context.close()


# --------------------------------------------------------------------------- joining by vote


async def test_joining_a_co_op_that_admits_by_vote_waits_for_a_sponsor(
    live_by_vote: LiveNode, browser: Any
) -> None:
    from playwright.async_api import expect

    live = live_by_vote
    context, page, watch = await new_page(browser, live, PHONE)
    await page.goto("/app/join")
    await expect(page.get_by_role("button", name="Make my key")).to_be_visible()
    await shot(page, "join-start")
    _, member_did = await make_key(page)
    await expect(page.get_by_label("Invite code", exact=True)).to_be_hidden()
    await page.get_by_label("About you").fill("Surveys and transcription, evenings.")
    await page.get_by_role("button", name="Ask to join").click()
    await status_text(page, "#apply-status", "waits for a member to sponsor it")
    await shot(page, "join-by-vote")
    size = (await live.get("/api/v1/status"))["size"]
    await page.goto("/app/join")  # coming back, the page says it still waits
    await status_text(page, "#apply-status", "waits for a member to sponsor it")
    await expect(page.get_by_role("button", name="Ask to join")).to_be_disabled()

    # A founder sponsors it; the members vote it in.
    (waiting,) = (await live.get("/api/v1/applications"))["applications"]
    assert waiting["member"] == member_did
    assert waiting["text"] == "Surveys and transcription, evenings."
    now = live.clock()
    sponsored = await live.post(
        live.sign(
            "ana",
            Proposal(
                kind=ProposalKind.ADMIT,
                pitch="Admit them",
                member=member_did,
                application=bytes.fromhex(waiting["id"]),
                opens=now,
                closes=now + HOUR,
            ),
        )
    )
    assert (await live.get("/api/v1/status"))["size"] == size + 2
    for founder in ("ana", "bo"):
        await live.post(
            live.sign(founder, Ballot(proposal=bytes.fromhex(sponsored["id"]), choice="yes"))
        )
    live.clock.advance(2 * HOUR)

    async def admitted() -> bool:
        members = await live.get("/api/v1/members")
        return member_did in [m["did"] for m in members["members"]]

    await eventually(admitted)
    await page.goto("/app/join")
    await expect(page.locator("#join-done")).to_contain_text("You're a member of Day Shift Co-op")

    # Now a member, they sponsor the next applicant from the Proposals page.
    newcomer = SigningIdentity(b"\x07" * 32)
    async with live.http.post(
        f"{live.url}/api/v1/join",
        json={"apply": live.sign(newcomer, MemberApply(text="Data labelling.")).raw.hex()},
    ) as resp:
        assert resp.status == 202, await resp.text()
    await page.goto("/app/proposals")
    await expect(
        page.get_by_role("heading", name="Applications waiting for a sponsor")
    ).to_be_visible()
    await expect(page.locator("#applications-list")).to_contain_text("Data labelling.")
    await shot(page, "applications")
    await page.get_by_role("button", name=f"Sponsor {newcomer.identity.handle}").click()
    await status_text(page, "#applications-status", "You sponsored")
    found = await live.get("/api/v1/proposals?status=open")
    (admit,) = [p for p in found["proposals"] if p["kind"] == "admit"]
    assert admit["author"] == member_did and admit["body"]["member"] == newcomer.did
    assert (await live.get("/api/v1/applications"))["count"] == 0
    await expect(page.locator("#open-list")).to_contain_text(newcomer.identity.long_handle)
    watch.check()
    await context.close()


# --------------------------------------------------------------------------- every page


async def seed(live: LiveNode) -> str:
    """Give the co-op something to show: ratings, flags that block, a decision, open votes."""
    other = RequesterRef(platform="prolific", id="5f0c3b1e2d9a8c7b6a5f4e3d")
    pays = {"ana": 450, "bo": 800, "cy": 1350}
    for who, cents in pays.items():
        await live.post(
            live.sign(
                who,
                Rating(
                    requester=REQ,
                    scores=(
                        ("comm", 2),
                        ("fair", 3),
                        ("fast", 4),
                        ("pay", 2 if cents < 1200 else 4),
                    ),
                    hourly_cents=cents,
                    rejected="some" if who == "ana" else "none",
                    recommend=cents > 1000,
                    text="Long survey, paid late.",
                ),
            )
        )
        await live.post(
            live.sign(
                who,
                Flag(
                    requester=other,
                    target="requester",
                    target_id=None,
                    reason=FlagReason.UNDERPAID if who != "cy" else FlagReason.UNFAIR_REJECTION,
                    expires=live.clock() + 30 * DAY,
                ),
            )
        )
    now = live.clock()
    decided = live.sign(
        "ana",
        Proposal(
            kind=ProposalKind.BLOCK,
            pitch="Block mturk:A1EXAMPLE: pays under $5 an hour",
            requester=REQ,
            reason=FlagReason.UNDERPAID,
            opens=now,
            closes=now + HOUR,
            text="Three of us report under $5/hour on its surveys.",
        ),
    )
    await live.post(decided)
    for who in ("ana", "bo", "cy"):
        choice = "no" if who == "cy" else "yes"
        await live.post(live.sign(who, Ballot(proposal=decided.id, choice=choice)))
    live.clock.advance(HOUR + 60_000)

    async def blocked() -> bool:
        found = await live.get("/api/v1/blocklist")
        return len(found["entries"]) == 2

    await eventually(blocked)
    now = live.clock()
    idea = live.sign(
        "bo",
        Proposal(
            kind=ProposalKind.IDEA,
            pitch="Ask Prolific to show pay per hour before we start a study",
            opens=now,
            closes=now + 3 * DAY,
            text="A letter from all of us, signed by the co-op.",
        ),
    )
    await live.post(idea)
    await live.post(live.sign("cy", Ballot(proposal=idea.id, choice="up")))
    await live.post(live.sign("ana", Ballot(proposal=idea.id, choice="down")))
    return idea.id.hex()


async def test_every_page_reads_well_on_a_phone_and_a_desktop(live: LiveNode, browser: Any) -> None:
    from playwright.async_api import expect

    await seed(live)
    for viewport in (PHONE, DESKTOP):
        context, page, watch = await new_page(browser, live, viewport)
        token = await live.invite()
        await make_key(page, token)
        await page.get_by_role("button", name="Join with this invite").click()
        await status_text(page, "#join-done", "member now")
        for p in PAGES:
            query = ""
            if p.name in ("requester", "rate", "flag"):
                query = f"?platform={REQ.platform}&requester={REQ.id}"
            await page.goto(p.path + query)
            await expect(page.locator("#whoami")).to_contain_text("member")
            await page.wait_for_load_state("networkidle")
            await shot(page, p.name)
            problems = await a11y_problems(page)
            assert not problems, f"{p.name} at {viewport['width']}px: {problems}"
        # The menu opens and closes from the keyboard on a phone.
        if viewport is PHONE:
            await page.goto("/app/")
            toggle = page.get_by_role("button", name="Menu")
            await expect(page.get_by_role("link", name="Decisions")).to_be_hidden()
            await toggle.focus()
            await page.keyboard.press("Enter")
            await expect(toggle).to_have_attribute("aria-expanded", "true")
            await expect(page.get_by_role("link", name="Decisions")).to_be_visible()
            await shot(page, "menu")
            await page.keyboard.press("Escape")
            await expect(toggle).to_have_attribute("aria-expanded", "false")
        watch.check()
        await context.close()

    # The profile of the requester the members blocked by vote says so, and why.
    context, page, watch = await new_page(browser, live, DESKTOP)
    await page.goto(f"/app/requester?platform={REQ.platform}&requester={REQ.id}")
    await expect(page.locator("#profile")).to_contain_text("Blocked")
    await expect(page.locator("#profile")).to_contain_text("The members voted to block it")
    await expect(page.locator("#profile")).to_contain_text("3 ratings")
    await page.emulate_media(color_scheme="dark")
    await shot(page, "requester-dark")
    await page.emulate_media(color_scheme="light")
    await page.goto("/app/blocklist")
    entry = page.locator("article.block-entry", has_text="prolific:5f0c3b1e2d9a8c7b6a5f4e3d")
    await expect(entry).to_contain_text("provisionally")
    await page.goto("/app/requester?platform=prolific&requester=5f0c3b1e2d9a8c7b6a5f4e3d")
    await expect(page.locator("#profile")).to_contain_text("Members flagged it 3 times")
    await shot(page, "requester-flagged")
    await page.goto("/app/blocklist")
    await entry.get_by_text("The full trace (technical)").click()
    await expect(entry.locator(".steps")).to_be_visible()
    await page.goto("/app/charter")
    await expect(page.locator("#charter")).to_contain_text("More than 50% of the yes-and-no votes")
    watch.check()
    await context.close()


# --------------------------------------------------------------------------- federation views


async def test_federation_status_and_alerts_render_whatever_the_node_reports(
    live: LiveNode, browser: Any
) -> None:
    """Peers, witnesses and an equivocation alert; and a node that reports no federation."""
    from playwright.async_api import expect

    status = await live.get("/api/v1/status")
    now = live.clock()
    peer_a = "did:key:z6MkjL1wDfEt8yChDdBbymv843c6QbecGAvMtDALiVgb4eDy"
    peer_b = "did:key:z6MkgaEWNoAEMnQjpLrcqcf3PqLFBcH7GGCG54WkNsEaouSr"
    status["federation"] = {
        "peers": [
            {
                "did": peer_a,
                "url": "http://127.0.0.1:9/",
                "name": "Turkers' Co-operative North",
                "handle": "brave_otter",
                "status": "active",
                "last_sync": now - 90_000,
                "last_error": None,
                "failures": 0,
                "held": 412,
                "verified": 412,
                "blocks": 7,
            },
            {
                "did": peer_b,
                "url": "http://127.0.0.1:10/",
                "name": "Prolific Pals",
                "status": "equivocated",
                "last_sync": now - 3 * HOUR,
                "last_error": "two checkpoints of size 88 with different roots",
                "failures": 2,
                "next_try": now + 600_000,
                "held": 88,
                "verified": 80,
                "blocks": 1,
            },
        ],
        "witnessed_by": [peer_a],
        "equivocations": [
            {"coop": peer_b, "id": "ab" * 32, "found_at": now - HOUR, "source": "sync"}
        ],
        "distrusted": [peer_b],
        "mirrors_served": 2,
    }
    context, page, watch = await new_page(browser, live, PHONE)

    async def fake_status(route: Any) -> None:
        await route.fulfill(json=status)

    await page.route("**/api/v1/status", fake_status)
    await page.goto("/app/coop")
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("Warning: Prolific Pals showed two different histories")
    await expect(alert.get_by_role("link", name="Download the proof")).to_have_attribute(
        "href", f"/api/v1/equivocations/{peer_b.replace(':', '%3A')}"
    )
    federation = page.locator("#federation")
    await expect(federation).to_contain_text("Co-ops this co-op follows (2)")
    await expect(federation).to_contain_text("Turkers' Co-operative North")
    await expect(federation).to_contain_text("In step")
    await expect(federation).to_contain_text("Last sync with another co-op: 1 minute ago")
    await expect(federation).to_contain_text("Witnesses (1)")
    await expect(federation).to_contain_text("Not trusted any more: Prolific Pals")
    await expect(federation).to_contain_text("mirrors served")
    assert not await a11y_problems(page)
    await shot(page, "coop-federation")

    # A node without federation fields: the page says so, calmly.
    del status["federation"]
    await page.goto("/app/coop")
    await expect(federation).to_contain_text("doesn't report on federation")
    await expect(page.get_by_role("alert")).to_have_count(0)
    watch.check()
    await context.close()


async def test_a_requester_profile_shows_each_followed_co_ops_share(
    live: LiveNode, browser: Any
) -> None:
    from playwright.async_api import expect

    path = f"/api/v1/requesters/{REQ.platform}/{REQ.id}"
    profile = await live.get(path)
    other = dict(profile["all"], reports=5)
    profile["federation"] = {
        "combined": other,
        "coops": [
            {
                "coop": live.coop,
                "name": "Night Shift Co-op",
                "own": True,
                "distrusted": False,
                "reports": 0,
                "flags": 0,
                "hourly_cents_median": None,
                "blocked": False,
            },
            {
                "coop": "did:key:z6MkjL1wDfEt8yChDdBbymv843c6QbecGAvMtDALiVgb4eDy",
                "name": "Turkers' Co-operative North",
                "own": False,
                "distrusted": False,
                "reports": 5,
                "flags": 3,
                "hourly_cents_median": 480,
                "blocked": True,
            },
        ],
    }
    context, page, watch = await new_page(browser, live, PHONE)

    async def fake_profile(route: Any) -> None:
        await route.fulfill(json=profile)

    await page.route(f"**{path}", fake_profile)
    await page.goto(f"/app/requester?platform={REQ.platform}&requester={REQ.id}")
    shares = page.locator("ul.shares")
    await expect(shares).to_contain_text("Night Shift Co-op (this co-op)")
    turkers = shares.get_by_role("listitem").filter(has_text="Turkers")
    await expect(turkers).to_contain_text("median pay $4.80/hour")
    await expect(turkers).to_contain_text("blocks it")
    await page.get_by_label("All the co-ops we follow").check()
    await expect(page.locator("#profile")).to_contain_text("5 ratings")
    assert not await a11y_problems(page)
    await shot(page, "requester-federation")
    watch.check()
    await context.close()
