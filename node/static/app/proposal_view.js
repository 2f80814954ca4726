// One proposal as a card: what it asks, its live counts, and (when open) the vote buttons.
// Shared by the Proposals and Decisions pages.

import { bar } from "./bars.js";
import { el, fill, plural, relative, requesterText, timeEl, nodeNowSync, duration } from "./core.js";
import { CHOICE_WORDS, KINDS, reasonLabel, RESULTS } from "./labels.js";
import { handleOf } from "./session.js";

/** The choices a ballot can name, in the order buttons show them. */
export function choicesOf(p) {
  if (p.kind === "idea") return ["up", "down"];
  if (p.kind === "elect") return [...(p.body.candidates || []), "abstain"];
  return ["yes", "no", "abstain"];
}

async function choiceWord(choice) {
  if (choice.startsWith("did:")) return handleOf(choice);
  return CHOICE_WORDS[choice] || choice;
}

/** What the proposal is about, beyond its pitch: requester, member, role. */
async function subject(p) {
  const b = p.body;
  const parts = [];
  if (b.requester) {
    const r = b.requester;
    const href = `/app/requester?platform=${encodeURIComponent(r.platform)}&requester=${encodeURIComponent(r.id)}`;
    parts.push(el("li", {}, "Requester: ", el("a", { href }, requesterText(r))));
  }
  if (b.reason) parts.push(el("li", {}, `Reason: ${reasonLabel(b.reason)}`));
  if (b.member) parts.push(el("li", {}, `Member: ${await handleOf(b.member)}`));
  if (b.role) parts.push(el("li", {}, `Role: ${b.role}`));
  return parts.length ? el("ul", { class: "subject" }, parts) : null;
}

/** The counts as a small bar chart with the numbers in text. */
export async function countsTable(p) {
  const tally = p.tally || {};
  const counts = tally.counts || {};
  const choices = choicesOf(p);
  const most = Math.max(1, ...choices.map((c) => counts[c] || 0));
  const rows = [];
  for (const c of choices) {
    const n = counts[c] || 0;
    const tone = c === "yes" || c === "up" ? "good" : c === "no" || c === "down" ? "bad" : "";
    rows.push(
      el(
        "tr",
        {},
        el("th", { scope: "row" }, await choiceWord(c)),
        el("td", { class: "num" }, plural(n, "vote")),
        el("td", { class: "bar-cell" }, bar(n, most, { tone })),
      ),
    );
  }
  return el(
    "table",
    { class: "chart chart-compact" },
    el("caption", { class: "visually-hidden" }, "Votes so far"),
    el("tbody", {}, rows),
  );
}

/** Turnout and what it takes, in words. */
export function turnout(p, charterBody) {
  const t = p.tally || {};
  if (t.error) return `The count could not be made: ${t.error}`;
  const done = p.status === "decided";
  const voted = `${t.ballots} of ${plural(t.roster_size, "member")} voted`;
  if (p.kind === "idea") {
    const need = charterBody ? charterBody.idea_up : null;
    return need === null
      ? `${voted}.`
      : `${voted}. An idea ${done ? "needed" : "launches with"} more than ${plural(need, "supporter")}, and at least as many supporters as opponents.`;
  }
  const pct = charterBody ? (p.kind === "amend" || p.kind === "revoke" ? charterBody.amend_pct : charterBody.pass_pct) : null;
  const quorum = `${voted}; ${t.quorum_needed} ${done ? "were" : "are"} needed for the vote to count${t.quorum_met ? " (reached)" : ""}.`;
  return pct === null
    ? quorum
    : `${quorum} ${done ? "It needed" : "It passes with"} more than ${pct}% of the yes and no votes.`;
}

export function timeLeft(p) {
  const closes = p.body.closes;
  const left = closes - nodeNowSync();
  if (left > 0) return el("span", {}, `Voting closes in ${duration(left)} `, el("span", { class: "muted" }, "(", timeEl(closes), ")"));
  return el("span", {}, "Voting closed ", relative(closes), " ", el("span", { class: "muted" }, "(", timeEl(closes), ")"));
}

/**
 * A card for `p`. options.vote(p, choice) is called by the vote buttons (open only);
 * options.myVote is the choice this browser last sent. Returns {node, update(p)}.
 */
export async function proposalCard(p, { vote = null, myVote = null, charterBody = null, decided = false, bundles = false } = {}) {
  const titleId = `p-${p.id.slice(0, 16)}`;
  const countsHolder = el("div", { class: "counts" }, await countsTable(p));
  const turnoutLine = el("p", { class: "turnout" }, turnout(p, charterBody));
  const timeLine = el("p", { class: "time-left" }, timeLeft(p));
  const region = el("div", { role: "status", "aria-live": "polite", class: "card-status" });
  const author = await handleOf(p.author);
  const result = decided && p.tally && p.tally.result ? RESULTS[p.tally.result] || { label: p.tally.result, tone: "info" } : null;

  let voteBox = null;
  if (vote && p.status === "open") {
    const buttons = [];
    for (const c of choicesOf(p)) {
      buttons.push(
        el("button", { type: "button", class: `button vote vote-${c.startsWith("did:") ? "candidate" : c}`, "data-choice": c, "aria-pressed": String(myVote === c), onclick: () => vote(p, c, region) }, await choiceWord(c)),
      );
    }
    voteBox = el(
      "div",
      { class: "vote-box", role: "group", "aria-labelledby": `${titleId}-vote` },
      el("p", { id: `${titleId}-vote`, class: "vote-title" }, "Your vote", myVote ? el("span", { class: "muted" }, ` — you chose ${await choiceWord(myVote)}; you can change it until voting closes`) : null),
      el("div", { class: "vote-buttons" }, buttons),
    );
  }

  const node = el(
    "article",
    { class: `card proposal proposal-${p.status}`, "aria-labelledby": titleId, "data-id": p.id },
    el(
      "p",
      { class: "proposal-kind" },
      el("span", { class: "badge" }, KINDS[p.kind] || p.kind),
      result ? el("span", { class: `badge badge-result badge-${result.tone}` }, result.label) : null,
    ),
    el("h3", { id: titleId, class: "pitch" }, p.body.pitch),
    await subject(p),
    p.body.text ? el("p", { class: "argument" }, p.body.text) : null,
    el("p", { class: "muted meta" }, `Proposed by ${author}, `, timeEl(p.ts)),
    decided ? null : timeLine,
    countsHolder,
    turnoutLine,
    voteBox,
    region,
    decided && p.decision
      ? el(
          "p",
          { class: "muted meta" },
          "Decided when voting closed ",
          timeEl(p.body.closes),
          ". ",
          el("a", { href: `/api/v1/records/${p.decision}` }, "The signed decision"),
          " · ",
          el("a", { href: `/api/v1/records/${p.id}` }, "the proposal"),
          bundles ? [" · ", el("a", { href: `/api/v1/bundles/decision/${p.decision}`, download: `decision-${p.decision.slice(0, 16)}.bundle` }, "proof for anyone to check offline")] : null,
        )
      : null,
  );

  const update = async (fresh, choice = null) => {
    fill(countsHolder, await countsTable(fresh));
    turnoutLine.textContent = turnout(fresh, charterBody);
    fill(timeLine, timeLeft(fresh));
    if (choice && voteBox) {
      voteBox.querySelectorAll("button").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.choice === choice)));
      const title = voteBox.querySelector(".vote-title");
      fill(title, "Your vote", el("span", { class: "muted" }, ` — you chose ${await choiceWord(choice)}; you can change it until voting closes`));
    }
  };
  return { node, update, region };
}
