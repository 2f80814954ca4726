// Open proposals: time left, live counts, and voting (a ballot signed in this browser).

import { $, api, charter, el, fill, fromHexBytes, nodeNow, nodeNowSync, say, sayError, timeEl } from "../core.js";
import { proposalCard } from "../proposal_view.js";
import { CHOICE_WORDS } from "../labels.js";
import { handleOf, signAndPost, startPage } from "../session.js";

const REFRESH_MS = 15_000;
let state = null;
let charterBody = null;
const cards = new Map();

function votesKey() {
  return `coopfed.votes.${state && state.key ? state.key.did : "none"}`;
}

function myVotes() {
  try {
    return JSON.parse(localStorage.getItem(votesKey()) || "{}");
  } catch {
    return {};
  }
}

function remember(id, choice) {
  const votes = myVotes();
  votes[id] = choice;
  try {
    localStorage.setItem(votesKey(), JSON.stringify(votes));
  } catch {
    // Private browsing may refuse storage; the vote itself is in the co-op's log.
  }
}

async function vote(p, choice, region) {
  const word = choice.startsWith("did:") ? await handleOf(choice) : CHOICE_WORDS[choice] || choice;
  say(region, "busy", `Signing your vote “${word}” and sending it…`);
  try {
    const result = await signAndPost("ballot", { choice, proposal: fromHexBytes(p.id) });
    remember(p.id, choice);
    const fresh = await api(`/api/v1/proposals/${p.id}`);
    await cards.get(p.id).update(fresh, choice);
    say(region, "ok", `Your vote “${word}” is counted (record number ${result.index}). You can change it until voting closes.`);
  } catch (err) {
    sayError(region, err, {
      links: err.code === "not_member" || err.code === "no_key" ? [el("a", { href: "/app/join" }, "Go to the Join page")] : [],
    });
  }
}

function signature(list) {
  return list.map((p) => `${p.id}:${p.status}`).join(",");
}

let shown = "";

async function render(all) {
  const open = all.filter((p) => p.status === "open");
  const closed = all.filter((p) => p.status === "closed");
  const votes = myVotes();
  cards.clear();
  const openCards = [];
  for (const p of open) {
    const card = await proposalCard(p, { vote, myVote: votes[p.id] || null, charterBody });
    cards.set(p.id, card);
    openCards.push(card.node);
  }
  fill(
    $("#open-list"),
    openCards.length
      ? openCards
      : el("p", { class: "empty" }, "Nothing is open for voting right now. ", el("a", { href: "/app/propose" }, "Propose something"), "."),
  );
  const closedCards = [];
  for (const p of closed) {
    const card = await proposalCard(p, { charterBody });
    cards.set(p.id, card);
    closedCards.push(card.node);
  }
  $("#closed-section").hidden = closedCards.length === 0;
  fill($("#closed-list"), closedCards);
  shown = signature([...open, ...closed]);
}

async function refresh({ first = false } = {}) {
  try {
    const { proposals } = await api("/api/v1/proposals");
    const live = proposals.filter((p) => p.status !== "decided");
    const busyHere = document.activeElement && document.activeElement.closest(".proposal-list");
    if (first || (signature(live) !== shown && !busyHere)) {
      await render(live);
    } else {
      for (const p of live) {
        const card = cards.get(p.id);
        if (card) await card.update(p);
      }
    }
    fill($("#refreshed"), "Counts updated ", timeEl(nodeNowSync()), ". They refresh by themselves.");
  } catch (err) {
    sayError($("#vote-status"), err);
  }
}

// ------------------------------------------------------------------ applications

/** Sponsor an application: an admit proposal, signed here, citing it (the node appends both). */
async function sponsor(a, button) {
  const region = $("#applications-status");
  button.disabled = true;
  say(region, "busy", `Signing your sponsorship of ${a.handle} and sending it…`);
  try {
    const opens = await nodeNow();
    const body = {
      kind: "admit",
      pitch: `Admit ${a.long_handle} as a member`,
      member: a.member,
      application: fromHexBytes(a.id),
      opens,
      closes: opens + charterBody.min_window_ms,
    };
    if (a.text) body.text = a.text;
    const result = await signAndPost("proposal", body);
    say(region, "ok", `You sponsored ${a.handle}: the members vote on it now (record number ${result.index}).`);
    await showApplications();
    await refresh({ first: true });
  } catch (err) {
    button.disabled = false;
    sayError(region, err);
  }
}

function applicationCard(a) {
  const titleId = `a-${a.id.slice(0, 16)}`;
  const button = state && state.member && charterBody ? el("button", { type: "button", class: "button" }, `Sponsor ${a.handle}`) : null;
  if (button) button.addEventListener("click", () => sponsor(a, button));
  return el(
    "article",
    { class: "card proposal", "aria-labelledby": titleId, "data-id": a.id },
    el("h3", { id: titleId, class: "pitch" }, `${a.long_handle} asks to join`),
    a.text ? el("p", { class: "argument" }, a.text) : null,
    el("p", { class: "muted meta" }, `Applied on ${a.received}; dropped on ${a.expires} unless a member sponsors it.`),
    button ? el("p", {}, button) : null,
  );
}

async function showApplications() {
  try {
    const { applications } = await api("/api/v1/applications");
    $("#applications-section").hidden = applications.length === 0;
    fill($("#applications-list"), applications.map(applicationCard));
  } catch (err) {
    sayError($("#applications-status"), err);
  }
}

async function main() {
  state = await startPage();
  charterBody = await charter()
    .then((c) => c.record.body)
    .catch(() => null);
  await refresh({ first: true });
  await showApplications();
  setInterval(refresh, REFRESH_MS);
}

main();
