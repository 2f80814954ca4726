// Decisions: what the members decided, with the counts and the signed decision record.

import { $, api, charter, el, fill, hasRoute, sayError } from "../core.js";
import { proposalCard } from "../proposal_view.js";
import { startPage } from "../session.js";

async function main() {
  await startPage();
  try {
    const [{ proposals }, charterBody, bundles] = await Promise.all([
      api("/api/v1/proposals?status=decided"),
      charter()
        .then((c) => c.record.body)
        .catch(() => null),
      hasRoute("/api/v1/bundles/decision/{id}"),
    ]);
    const cards = [];
    for (const p of proposals) cards.push((await proposalCard(p, { charterBody, decided: true, bundles })).node);
    fill($("#decision-list"), cards.length ? cards : el("p", { class: "empty" }, "No decisions yet. When voting on a proposal closes, its result appears here."));
  } catch (err) {
    fill($("#decision-list"));
    sayError($("#decisions-status"), err);
  }
}

main();
