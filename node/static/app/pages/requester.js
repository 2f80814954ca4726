// Requester lookup: the co-op's reports about one requester, and whether it is blocked.

import { minPayPerHour } from "../../js/money.js";
import { bar } from "../bars.js";
import {
  $,
  api,
  charter,
  clear,
  coopInfo,
  el,
  fill,
  hourly,
  hundredths,
  markInvalid,
  money,
  param,
  plural,
  requesterFromForm,
  requesterPath,
  requesterText,
  say,
  sayError,
  timeEl,
} from "../core.js";
import { DIMENSIONS, REASONS, reasonLabel } from "../labels.js";
import { focusOn, handleOf, startPage } from "../session.js";

/** Whole dollars without cents ("$12"), else "$12.50". */
function dollars(cents) {
  return cents % 100 === 0 ? `$${cents / 100}` : money(cents);
}

function bucketLabel(b) {
  if (b.from === 0) return `Under ${dollars(b.to)}`;
  if (b.to === null) return `${dollars(b.from)} or more`;
  return `${dollars(b.from)} to ${dollars(b.to)}`;
}

function scoresTable(stats) {
  const rows = DIMENSIONS.map((d) => {
    const s = stats.scores[d.code] || { count: 0, mean_x100: null };
    const text = s.mean_x100 === null ? "no scores yet" : `${hundredths(s.mean_x100)} of 5`;
    return el(
      "tr",
      {},
      el("th", { scope: "row" }, d.label, el("span", { class: "cell-note" }, d.help)),
      el("td", { class: "num" }, text, el("span", { class: "cell-note" }, plural(s.count, "rating"))),
      el("td", { class: "bar-cell" }, bar(s.mean_x100 || 0, 500, { tone: tone(s.mean_x100) })),
    );
  });
  return el(
    "table",
    { class: "chart" },
    el("caption", {}, "From 1 (worst) to 5 (best)"),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "What"), el("th", { scope: "col" }, "Average"), el("th", { scope: "col", class: "bar-cell" }, el("span", { class: "visually-hidden" }, "Bar")))),
    el("tbody", {}, rows),
  );
}

function tone(meanX100) {
  if (meanX100 === null || meanX100 === undefined) return "";
  if (meanX100 < 250) return "bad";
  if (meanX100 < 350) return "mid";
  return "good";
}

function payFigure(stats, minPay) {
  const pay = stats.hourly_cents;
  const most = Math.max(1, ...pay.buckets.map((b) => b.count));
  const rows = pay.buckets.map((b) => {
    const below = minPay > 0 && b.to !== null && b.to <= minPay;
    return el(
      "tr",
      {},
      el("th", { scope: "row" }, bucketLabel(b), below ? el("span", { class: "visually-hidden" }, ", below the co-op's minimum") : null),
      el("td", { class: "num" }, plural(b.count, "report")),
      el("td", { class: "bar-cell" }, bar(b.count, most, { tone: below ? "bad" : "good" })),
    );
  });
  const median =
    pay.median === null
      ? "Nobody has reported their hourly pay yet."
      : `Half the reports say less than ${hourly(pay.median)}, half say more (the median of ${plural(pay.count, "report")}).`;
  const verdict =
    pay.median !== null && minPay > 0
      ? pay.median < minPay
        ? el("p", { class: "verdict verdict-bad" }, `That is below the co-op's minimum of ${hourly(minPay)}.`)
        : el("p", { class: "verdict verdict-good" }, `That meets the co-op's minimum of ${hourly(minPay)}.`)
      : null;
  return el(
    "section",
    { "aria-labelledby": "pay-title" },
    el("h3", { id: "pay-title" }, "Hourly pay members reported"),
    el("p", {}, median),
    verdict,
    pay.count
      ? el(
          "table",
          { class: "chart" },
          el("caption", {}, "Reports in each pay range", minPay > 0 ? el("span", { class: "caption-note" }, `Red bars: below the co-op's minimum of ${hourly(minPay)}.`) : null),
          el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Pay per hour"), el("th", { scope: "col" }, "Reports"), el("th", { scope: "col", class: "bar-cell" }, el("span", { class: "visually-hidden" }, "Bar")))),
          el("tbody", {}, rows),
        )
      : null,
  );
}

function flagsList(stats) {
  const entries = Object.entries(stats.flags);
  const total = entries.reduce((n, [, c]) => n + c, 0);
  if (!total) return el("p", {}, "No active flags.");
  const most = Math.max(...entries.map(([, c]) => c));
  const order = REASONS.map((r) => r.code);
  entries.sort((a, b) => order.indexOf(a[0]) - order.indexOf(b[0]));
  return el(
    "table",
    { class: "chart" },
    el("caption", {}, `Active flags by reason (${total} in all)`),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Reason"), el("th", { scope: "col" }, "Flags"), el("th", { scope: "col", class: "bar-cell" }, el("span", { class: "visually-hidden" }, "Bar")))),
    el(
      "tbody",
      {},
      entries.map(([reason, count]) =>
        el("tr", {}, el("th", { scope: "row" }, reasonLabel(reason)), el("td", { class: "num" }, String(count)), el("td", { class: "bar-cell" }, bar(count, most, { tone: "bad" }))),
      ),
    ),
  );
}

/** Why a requester is (not) blocked, in plain words, from the signed block records. */
async function plainWhy(block) {
  const { coop } = await coopInfo();
  const lines = [];
  for (const id of block.records.slice(0, 6)) {
    let record;
    try {
      record = await api(`/api/v1/records/${id}`);
    } catch {
      continue;
    }
    if (record.type !== "block") continue;
    const b = record.body;
    const review = ["It is reviewed ", timeEl(b.review, { date: true }), "."];
    const reason = `Reason: ${reasonLabel(b.reason).toLowerCase()}.`;
    const signed = el("a", { href: `/api/v1/records/${id}` }, "signed block");
    if (record.author !== coop) {
      lines.push(el("li", {}, `The co-op ${await handleOf(record.author)} blocks it, and this co-op's federation policy adopts that block. ${reason} `, "(", signed, ")"));
    } else if (b.provisional) {
      lines.push(
        el("li", {}, `Members flagged it ${plural(b.flags.length, "time")}, enough under the charter's rule for a block until the members review it. ${reason} `, review, " (", signed, ")"),
      );
    } else {
      const vote = b.decision ? el("a", { href: `/api/v1/records/${b.decision}` }, "the vote's result") : "the vote";
      lines.push(el("li", {}, `The members voted to block it (see `, vote, `). ${reason} `, review));
    }
  }
  return lines;
}

async function blockBox(block) {
  const technical = el(
    "details",
    { class: "technical" },
    el("summary", {}, "Technical details"),
    el("ul", { class: "steps" }, block.steps.map((s) => el("li", {}, s))),
    block.records.length
      ? el("ul", { class: "mono-list" }, block.records.map((id) => el("li", {}, el("a", { href: `/api/v1/records/${id}` }, id))))
      : null,
  );
  if (block.status === null) {
    return el(
      "div",
      { class: "status-box status-clear" },
      el("p", { class: "status-line" }, el("strong", {}, "Not blocked"), " by this co-op."),
      technical,
    );
  }
  const word = { blocked: "Blocked", draft: "Proposed for blocking (draft)", allowed: "Allowed despite other co-ops' blocks" }[block.status] || block.status;
  const advice = {
    blocked: " — the co-op advises members not to take this work.",
    draft: " — other co-ops block it; this co-op shows their blocks as drafts until its members review them.",
    allowed: " — other co-ops block it, but this co-op's own policy lets members take its work.",
  }[block.status] || "";
  const why = await plainWhy(block);
  return el(
    "div",
    { class: `status-box ${block.status === "blocked" ? "status-blocked" : "status-draft"}` },
    el("p", { class: "status-line" }, el("strong", {}, word), advice),
    why.length ? [el("p", { class: "why-title" }, "Why:"), el("ul", { class: "steps" }, why)] : null,
    technical,
  );
}

function statsPart(stats, minPay) {
  const rec = stats.recommend;
  const rej = stats.rejections;
  const appeals = stats.appeals;
  return el(
    "div",
    { class: "stats-part" },
    el(
      "ul",
      { class: "stats" },
      el("li", {}, el("strong", {}, String(stats.reports)), stats.reports === 1 ? " rating" : " ratings"),
      el("li", {}, el("strong", {}, String(rec.yes)), " would work for them again, ", el("strong", {}, String(rec.no)), " would not"),
      el("li", {}, "Rejections: ", el("strong", {}, String(rej.none)), " none, ", el("strong", {}, String(rej.some)), " some, ", el("strong", {}, String(rej.all)), " all"),
    ),
    el("section", { "aria-labelledby": "scores-title" }, el("h3", { id: "scores-title" }, "Scores"), scoresTable(stats)),
    payFigure(stats, minPay),
    el("section", { "aria-labelledby": "flags-title" }, el("h3", { id: "flags-title" }, "Flags"), flagsList(stats)),
    el(
      "section",
      { "aria-labelledby": "appeals-title" },
      el("h3", { id: "appeals-title" }, "Rejection appeals"),
      el("p", {}, `${appeals.filed} waiting, ${appeals.won} won, ${appeals.lost} lost, ${appeals.no_response} with no answer.`, stats.replies ? ` The requester replied ${plural(stats.replies, "time")}.` : ""),
    ),
  );
}

/** Each co-op's share of what is known about the requester (when this co-op follows others). */
function federationPart(fed) {
  const items = fed.coops.map((c) =>
    el(
      "li",
      { class: "share" },
      el("strong", {}, c.name || "a co-op"),
      c.own ? " (this co-op)" : null,
      c.blocked ? [" ", el("span", { class: "badge badge-no" }, "blocks it")] : null,
      c.distrusted ? [" ", el("span", { class: "badge badge-no" }, "left out: it showed two histories")] : null,
      el(
        "p",
        { class: "share-facts" },
        `${plural(c.reports, "rating")} · ${plural(c.flags, "active flag")} · median pay ${c.hourly_cents_median === null ? "not reported" : hourly(c.hourly_cents_median)}`,
      ),
    ),
  );
  return el(
    "section",
    { "aria-labelledby": "fed-title" },
    el("h3", { id: "fed-title" }, "Across the co-ops we follow"),
    el("p", {}, "What each co-op's members reported about this requester."),
    el("ul", { class: "shares" }, items),
  );
}

async function renderProfile(section, profile, requester, minPay) {
  const query = `?platform=${encodeURIComponent(requester.platform)}&requester=${encodeURIComponent(requester.id)}`;
  const holder = el("div", {});
  const periodName = `period-${Date.now()}`;
  const fed = profile.federation && Array.isArray(profile.federation.coops) && profile.federation.coops.length > 1 ? profile.federation : null;
  const periods = [
    ["all", "All time, this co-op", profile.all],
    ["last_90_days", "The last 90 days", profile.last_90_days],
  ];
  if (fed) periods.push(["federation", "All the co-ops we follow", fed.combined]);
  const choose = (stats) => fill(holder, statsPart(stats, minPay));
  fill(
    section,
    el("h2", { id: "profile-title", class: "requester-name" }, requesterText(requester)),
    profile.aliases.length ? el("p", { class: "muted" }, `Also known as ${profile.aliases.join(", ")}`) : null,
    el(
      "p",
      { class: "actions" },
      el("a", { class: "button", href: `/app/rate${query}` }, "Rate this requester"),
      el("a", { class: "button", href: `/app/flag${query}` }, "Flag a HIT or batch"),
    ),
    el("section", { "aria-labelledby": "block-title" }, el("h3", { id: "block-title" }, "Blocklist"), await blockBox(profile.blocklist)),
    el(
      "fieldset",
      { class: "inline-choices period" },
      el("legend", {}, "Show reports from"),
      periods.map(([value, label, stats], i) =>
        el("label", {}, el("input", { type: "radio", name: periodName, value, checked: i === 0, onchange: () => choose(stats) }), ` ${label}`),
      ),
    ),
    holder,
    fed ? federationPart(fed) : null,
  );
  choose(profile.all);
  section.hidden = false;
}

async function lookUp(requester, { focus = true } = {}) {
  const region = $("#lookup-status");
  const section = $("#profile");
  say(region, "busy", `Looking up ${requesterText(requester)}…`);
  try {
    const [profile, minPay] = await Promise.all([
      api(`/api/v1/requesters/${requesterPath(requester)}`),
      // Ratings' hourly_cents are US cents: they meet the co-op's USD minimum only.
      charter().then((c) => minPayPerHour(c.record.body).USD || 0).catch(() => 0),
    ]);
    await renderProfile(section, profile, requester, minPay);
    const count = profile.all.reports;
    // The profile speaks for itself on screen; a screen reader hears the gist.
    clear(region);
    $("#lookup-announce").textContent = `${requesterText(requester)}: ${count ? plural(count, "rating") : "no ratings yet"}, ${profile.blocklist.status === "blocked" ? "blocked by the co-op" : "not blocked"}.`;
    if (focus) focusOn($("#profile-title"));
  } catch (err) {
    section.hidden = true;
    sayError(region, err);
  }
}

async function main() {
  await startPage();
  const form = $("#lookup");
  const platform = param("platform");
  const id = param("requester");
  if (platform) form.platform.value = platform;
  if (id) form.requester.value = id;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    let requester;
    try {
      requester = requesterFromForm(form);
    } catch (err) {
      sayError($("#lookup-status"), err);
      markInvalid(err);
      return;
    }
    form.platform.value = requester.platform;
    form.requester.value = requester.id;
    history.replaceState(null, "", `?platform=${encodeURIComponent(requester.platform)}&requester=${encodeURIComponent(requester.id)}`);
    lookUp(requester);
  });
  if (id) {
    try {
      await lookUp(requesterFromForm(form), { focus: false });
    } catch (err) {
      sayError($("#lookup-status"), err);
    }
  } else {
    clear($("#lookup-status"));
  }
}

main();
