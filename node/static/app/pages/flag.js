// Flag a requester, one of its HIT groups or one batch, with a reason; signed here.

import {
  $,
  busy,
  charter,
  clearInvalid,
  el,
  FormError,
  markInvalid,
  nodeNow,
  param,
  plural,
  requesterFromForm,
  requesterText,
  REQUESTER_ID_RE,
  say,
  sayError,
} from "../core.js";
import { attachCounter } from "../counter.js";
import { REASONS } from "../labels.js";
import { signAndPost, startPage } from "../session.js";

const DAY_MS = 86_400_000;
const TARGET_LABELS = { hit_group: "HIT group ID", batch: "Batch ID" };

function reasonChoices() {
  return REASONS.map((r, i) =>
    el(
      "label",
      {},
      el("input", { type: "radio", name: "reason", value: r.code, required: true, checked: i === 0 }),
      " ",
      el("span", { class: "choice-label" }, r.label),
      el("span", { class: "choice-note" }, r.help),
    ),
  );
}

function flagBody(form, noteOk, now) {
  const body = { requester: requesterFromForm(form) };
  const target = form.elements.namedItem("target").value;
  body.target = target;
  if (target !== "requester") {
    const id = form.target_id.value.trim();
    if (!REQUESTER_ID_RE.test(id)) {
      throw new FormError(
        id ? `The ${TARGET_LABELS[target]} has no spaces and only plain letters, digits and punctuation.` : `Give the ${TARGET_LABELS[target]}, as the platform shows it.`,
        form.target_id,
      );
    }
    body.target_id = id;
  }
  body.reason = form.elements.namedItem("reason").value;
  const note = form.note.value.trim();
  if (!noteOk()) throw new FormError("The note is longer than 1000 characters. Please shorten it.", form.note);
  if (body.reason === "other" && !note) throw new FormError("With “Other”, say in the note what happened.", form.note);
  if (note) body.note = note;
  const days = Number(form.days.value);
  if (!Number.isInteger(days) || days < 1 || days > 365) {
    throw new FormError("Choose how many days the flag counts: a whole number from 1 to 365.", form.days);
  }
  body.expires = now + days * DAY_MS;
  return { body, days };
}

async function main() {
  await startPage();
  const form = $("#flag");
  $("#reasons").append(...reasonChoices());
  if (param("platform")) form.platform.value = param("platform");
  if (param("requester")) form.requester.value = param("requester");
  const noteOk = attachCounter(form.note, $("#note-count"));
  const region = $("#flag-status");

  const showTarget = () => {
    const target = form.elements.namedItem("target").value;
    $("#target-id-field").hidden = target === "requester";
    if (TARGET_LABELS[target]) $("#target-id-label").textContent = TARGET_LABELS[target];
  };
  const showNote = () => {
    $("#note-optional").textContent = form.elements.namedItem("reason").value === "other" ? "(needed with “Other”)" : "(optional)";
  };
  form.addEventListener("change", () => {
    showTarget();
    showNote();
  });
  showTarget();
  showNote();

  charter()
    .then((c) => {
      const rule = c.record.body.block_rule;
      $("#block-rule").textContent = `When ${rule.flags} different members flag the same requester within ${plural(rule.days, "day")}, the co-op blocks it for ${plural(rule.review_days, "day")} until the members review it.`;
    })
    .catch(() => {});

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearInvalid(form);
    try {
      const result = await busy(form, region, "Signing your flag and sending it…", async () => {
        const { body, days } = flagBody(form, noteOk, await nodeNow());
        const sent = await signAndPost("flag", body);
        return { ...sent, body, days };
      });
      const who = requesterText(result.body.requester);
      const what = result.body.target === "requester" ? who : `${result.body.target === "batch" ? "batch" : "HIT group"} ${result.body.target_id} of ${who}`;
      const profile = `/app/requester?platform=${encodeURIComponent(result.body.requester.platform)}&requester=${encodeURIComponent(result.body.requester.id)}`;
      say(region, "ok", `Your flag on ${what} is in the co-op's log (record number ${result.index}). It counts for ${plural(result.days, "day")}.`, {
        links: [el("a", { href: profile }, `See ${who}`)],
      });
    } catch (err) {
      sayError(region, err, { links: err.code === "not_member" || err.code === "no_key" ? [el("a", { href: "/app/join" }, "Go to the Join page")] : [] });
      markInvalid(err);
    }
  });
}

main();
