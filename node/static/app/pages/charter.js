// The charter in plain words: how to join, how votes work, blocks, minimum pay, roles.

import { formatMoney, minPayPerHour } from "../../js/money.js";
import { $, api, duration, el, fill, plural, sayError, timeEl } from "../core.js";
import { startPage } from "../session.js";

function minimumText(perHour) {
  const each = Object.entries(perHour).map(([cur, minor]) => `${formatMoney(minor, cur)}/hour in ${cur}`);
  if (!each.length) return "The co-op has not agreed a minimum pay.";
  return `The co-op's agreed minimum is ${each.join(", ")}. Work that pays less can be flagged as underpaid. Pay in other currencies is not compared.`;
}

function rules(b) {
  const rule = b.block_rule;
  return [
    [
      "Joining",
      b.admission === "invite"
        ? "New members join with an invite code from the co-op. Each code works once."
        : "New members ask to join, and the members vote on each application.",
    ],
    ["One member, one vote", "Every member has one vote on each question. You can change your vote until voting closes; your last vote counts."],
    [
      "When a vote counts",
      `At least ${b.quorum_pct}% of the members must vote (abstaining counts as voting). Otherwise nothing is decided.`,
    ],
    [
      "When a proposal passes",
      `More than ${b.pass_pct}% of the yes-and-no votes must be yes. Changing this charter or ending someone's membership needs more than ${b.amend_pct}%.`,
    ],
    ["How long votes last", `Voting stays open for at least ${duration(b.min_window_ms)} and at most ${duration(b.max_window_ms)}.`],
    [
      "Ideas",
      `An idea launches when more than ${plural(b.idea_up, "member")} support it and at least as many support it as oppose it. Ideas need no quorum.`,
    ],
    [
      "Blocking on flags",
      `When ${rule.flags} different members flag the same requester within ${plural(rule.days, "day")}, the co-op blocks it at once, for now. The block is reviewed after ${plural(rule.review_days, "day")}, and ends early if the flags are withdrawn. A vote of the members can block or unblock a requester at any time.`,
    ],
    [
      "Minimum pay",
      minimumText(minPayPerHour(b)),
    ],
    [
      "Roles",
      b.roles.length
        ? `Members can be elected as: ${b.roles.join(", ")}. Roles are filled by election.`
        : "The charter names no roles.",
    ],
    ["Changing these rules", "Only by a vote of the members, with the larger majority above. Every version stays in the co-op's log."],
  ];
}

async function main() {
  await startPage();
  try {
    const c = await api("/api/v1/charter");
    const b = c.record.body;
    fill(
      $("#charter"),
      el("h2", {}, b.name),
      el("dl", { class: "rules" }, rules(b).flatMap(([term, text]) => [el("dt", {}, term), el("dd", {}, text)])),
      el(
        "p",
        { class: "muted meta" },
        b.supersedes ? "This version replaced an earlier one by a vote of the members. " : "This is the co-op's founding charter. ",
        "Signed by the co-op ",
        timeEl(c.record.ts),
        ". ",
        el("a", { href: `/api/v1/records/${c.id}` }, "The signed record"),
      ),
    );
  } catch (err) {
    fill($("#charter"));
    sayError($("#charter-status"), err);
  }
}

main();
