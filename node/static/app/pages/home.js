// The start page: who you are, how to begin, the co-op at a glance.

import { $, api, el, fill, plural, sayError } from "../core.js";
import { startPage } from "../session.js";

async function main() {
  const state = await startPage();
  if (!state.key || state.member === false) {
    const start = $("#start");
    start.hidden = false;
    if (state.key) {
      $("#start-text").textContent =
        "You have a key, but you're not a member of this co-op yet. Use an invite to join.";
      $("#start-link").textContent = "Finish joining";
    }
  }
  try {
    const status = await api("/api/v1/status");
    $("#home-title").textContent = status.name || "Your co-op";
    fill(
      $("#glance"),
      el("li", {}, el("a", { href: "/app/coop" }, el("strong", {}, String(status.members)), " ", status.members === 1 ? "member" : "members")),
      el("li", {}, el("a", { href: "/app/proposals" }, el("strong", {}, String(status.open_proposals)), " open ", status.open_proposals === 1 ? "proposal" : "proposals")),
      el("li", {}, el("a", { href: "/app/blocklist" }, el("strong", {}, String(status.blocks)), " blocked ", status.blocks === 1 ? "requester" : "requesters")),
      el("li", {}, el("a", { href: "/app/coop" }, el("strong", {}, String(status.size)), " ", plural(status.size, "record").replace(/^\d+ /, ""), " in the log")),
    );
  } catch (err) {
    sayError($("#glance-status"), err);
  }
}

main();
