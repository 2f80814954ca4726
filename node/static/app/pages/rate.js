// Rate a requester: scores, pay, rejections, a review; signed here, sent to the node.

import {
  $,
  busy,
  el,
  FormError,
  markInvalid,
  param,
  parseMoney,
  requesterFromForm,
  requesterText,
  say,
  sayError,
  clearInvalid,
} from "../core.js";
import { coarseHourlyCents, coarseRatingMinutes } from "../../js/money.js";
import { attachCounter } from "../counter.js";
import { DIMENSIONS } from "../labels.js";
import { signAndPost, startPage } from "../session.js";

function scoreFieldsets() {
  return DIMENSIONS.map((d) =>
    el(
      "fieldset",
      { class: "score" },
      el("legend", {}, el("span", { class: "score-name" }, d.label), el("span", { class: "score-help" }, d.help)),
      el(
        "div",
        { class: "segmented" },
        [1, 2, 3, 4, 5].map((n) =>
          el(
            "label",
            {},
            el("input", { type: "radio", name: `score-${d.code}`, value: String(n) }),
            el("span", {}, String(n), n === 1 ? el("span", { class: "visually-hidden" }, " (worst)") : null, n === 5 ? el("span", { class: "visually-hidden" }, " (best)") : null),
          ),
        ),
        el("label", { class: "skip" }, el("input", { type: "radio", name: `score-${d.code}`, value: "", checked: true }), el("span", {}, "Skip")),
      ),
    ),
  );
}

/** The rating body from the form; FormError for anything to fix before signing. */
function ratingBody(form, textOk) {
  const body = { requester: requesterFromForm(form) };
  const scores = {};
  for (const d of DIMENSIONS) {
    const value = form.elements.namedItem(`score-${d.code}`).value;
    if (value) scores[d.code] = Number(value);
  }
  if (Object.keys(scores).length) body.scores = scores;
  const cents = parseMoney(form.hourly.value, form.hourly);
  if (cents !== null) {
    if (cents > 1_000_000) throw new FormError("That hourly pay is more than $10,000. Check the amount.", form.hourly);
    // Coarse, so that a requester who knows the reward cannot work out the exact time
    // (spec/privacy.md §4): the nearest 50 cents an hour.
    body.hourly_cents = coarseHourlyCents(cents);
  }
  const minutesText = form.minutes.value.trim();
  if (minutesText) {
    if (!/^\d{1,6}$/.test(minutesText) || Number(minutesText) < 1 || Number(minutesText) > 100_000) {
      throw new FormError("Minutes worked is a whole number from 1 to 100000.", form.minutes);
    }
    if (cents === null) {
      throw new FormError("Give the hourly pay too: the minutes say what that pay is based on.", form.hourly);
    }
    body.minutes = coarseRatingMinutes(Number(minutesText));
  }
  if (form.rejected.value) body.rejected = form.rejected.value;
  const recommend = form.elements.namedItem("recommend").value;
  if (recommend) body.recommend = recommend === "yes";
  const text = form.text.value.trim();
  if (!textOk()) throw new FormError("The review is longer than 1000 characters. Please shorten it.", form.text);
  if (text) body.text = text;
  if (Object.keys(body).length === 1) {
    throw new FormError("Say something about this requester: a score, the pay, rejections, or a few words.");
  }
  return body;
}

async function main() {
  await startPage();
  const form = $("#rate");
  $("#scores").append(...scoreFieldsets());
  if (param("platform")) form.platform.value = param("platform");
  if (param("requester")) form.requester.value = param("requester");
  const textOk = attachCounter(form.text, $("#text-count"));
  const region = $("#rate-status");

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearInvalid(form);
    let body;
    try {
      body = ratingBody(form, textOk);
    } catch (err) {
      sayError(region, err);
      markInvalid(err);
      return;
    }
    const who = requesterText(body.requester);
    const profile = `/app/requester?platform=${encodeURIComponent(body.requester.platform)}&requester=${encodeURIComponent(body.requester.id)}`;
    try {
      const result = await busy(form, region, `Signing your rating of ${who} and sending it…`, () => signAndPost("rating", body));
      say(region, "ok", `Thank you. Your rating of ${who} is in the co-op's log (record number ${result.index}).`, {
        links: [el("a", { href: profile }, `See ${who}`), el("a", { href: "/app/rate" }, "Rate another requester")],
      });
    } catch (err) {
      sayError(region, err, { links: err.code === "not_member" || err.code === "no_key" ? [el("a", { href: "/app/join" }, "Go to the Join page")] : [] });
    }
  });
}

main();
