// The co-op's effective blocklist: each requester, why, and from whom.

import { $, api, coopInfo, dateOnly, el, fill, hasRoute, requesterPath, requesterText, sayError, timeEl } from "../core.js";
import { reasonLabel } from "../labels.js";
import { handleOf, startPage } from "../session.js";

const STATUS = {
  blocked: "Blocked",
  draft: "Draft: adopted from other co-ops, not yet enforced",
  allowed: "Allowed here, though other co-ops block it",
};

async function sourceLine(source, own) {
  const review = source.review ? ["; review due ", timeEl(source.review, { date: true })] : [];
  if (source.coop === own) {
    return el("li", {}, source.provisional ? "Blocked by this co-op provisionally, because enough members flagged it" : "Blocked by a vote of this co-op's members", review);
  }
  return el("li", {}, `Blocked by the co-op ${await handleOf(source.coop)}`, review);
}

async function entryCard(entry, own, bundles) {
  const r = entry.requester;
  const href = `/app/requester?platform=${encodeURIComponent(r.platform)}&requester=${encodeURIComponent(r.id)}`;
  const sources = [];
  for (const s of entry.sources) sources.push(await sourceLine(s, own));
  const why = el("details", { class: "why" }, el("summary", {}, "The full trace (technical)"));
  const whyBody = el("div", { "aria-live": "polite" }, el("p", { class: "muted" }, "Loading…"));
  why.append(whyBody);
  why.addEventListener("toggle", async () => {
    if (!why.open || why.dataset.loaded) return;
    try {
      const explained = await api(`/api/v1/blocklist/explain/${requesterPath(r)}`);
      fill(whyBody, el("ul", { class: "steps" }, explained.steps.map((s) => el("li", {}, s))));
      why.dataset.loaded = "1";
    } catch (err) {
      sayError(whyBody, err);
    }
  });
  return el(
    "article",
    { class: `card block-entry block-${entry.status}` },
    el("h2", { class: "requester-name" }, el("a", { href }, requesterText(r))),
    el("p", {}, el("span", { class: `badge badge-${entry.status === "blocked" ? "no" : "info"}` }, STATUS[entry.status] || entry.status), " ", el("span", {}, `Reason: ${reasonLabel(entry.reason)}`)),
    el("ul", { class: "sources" }, sources),
    entry.rule ? el("p", { class: "muted" }, `Adopted because ${entry.rule.k} of the ${entry.rule.from.length} co-ops this co-op trusts block it.`) : null,
    why,
    bundles && entry.status === "blocked"
      ? el("p", { class: "muted meta" }, el("a", { href: `/api/v1/bundles/block/${requesterPath(r)}`, download: `block-${r.platform}-${r.id}.bundle` }, "Proof for anyone to check offline"), " (a verification bundle)")
      : null,
  );
}

async function main() {
  await startPage();
  try {
    const [{ entries }, { coop }, bundles] = await Promise.all([
      api("/api/v1/blocklist"),
      coopInfo(),
      hasRoute("/api/v1/bundles/block/{platform}/{rid}"),
    ]);
    const cards = [];
    for (const e of entries) cards.push(await entryCard(e, coop, bundles));
    fill(
      $("#blocklist"),
      cards.length
        ? [el("p", {}, `${entries.length} ${entries.length === 1 ? "requester" : "requesters"}, as of `, el("time", {}, dateOnly(Date.now())), "."), ...cards]
        : el("p", { class: "empty" }, "The co-op blocks no requester at the moment."),
    );
  } catch (err) {
    fill($("#blocklist"));
    sayError($("#blocklist-status"), err);
  }
}

main();
