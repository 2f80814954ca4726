// Propose an idea (or a block, or an unblock): a one-line pitch of at most 140 characters.

import {
  $,
  busy,
  charter,
  clearInvalid,
  duration,
  el,
  FormError,
  markInvalid,
  nodeNow,
  param,
  requesterFromForm,
  say,
  sayError,
  textLength,
} from "../core.js";
import { isOneLine } from "../../js/records.js";
import { attachCounter } from "../counter.js";
import { REASONS } from "../labels.js";
import { signAndPost, startPage } from "../session.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const WINDOWS = [HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 3 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 60 * DAY, 90 * DAY];

function windowOptions(select, hint, body) {
  const min = body.min_window_ms;
  const max = body.max_window_ms;
  const lengths = [...new Set([min, ...WINDOWS.filter((w) => w > min && w < max), max])];
  select.replaceChildren(...lengths.map((w, i) => el("option", { value: String(w), selected: i === 0 }, duration(w))));
  hint.textContent = `The charter allows from ${duration(min)} to ${duration(max)}.`;
}

function proposalBody(form, pitchOk, textOk, now) {
  const kind = form.elements.namedItem("kind").value;
  const pitch = form.pitch.value.trim();
  if (!pitch) throw new FormError("Write a pitch: one line saying what you propose.", form.pitch);
  if (!pitchOk()) throw new FormError(`The pitch is ${textLength(pitch)} characters; keep it to 140.`, form.pitch);
  if (!isOneLine(pitch)) {
    throw new FormError("The pitch is one line: no line breaks, tabs or control characters.", form.pitch);
  }
  const text = form.text.value.trim();
  if (!textOk()) throw new FormError("The argument is longer than 4000 characters. Please shorten it.", form.text);
  const length = Number(form.elements.namedItem("window").value);
  const body = { kind, pitch, opens: now, closes: now + length };
  if (text) body.text = text;
  if (kind === "block" || kind === "unblock") body.requester = requesterFromForm(form);
  if (kind === "block") body.reason = form.reason.value;
  return body;
}

async function main() {
  await startPage();
  const form = $("#propose");
  $("#reason").append(...REASONS.map((r) => el("option", { value: r.code }, `${r.label} — ${r.help}`)));
  const pitchOk = attachCounter(form.pitch, $("#pitch-count"), $("#pitch-count-sr"));
  const textOk = attachCounter(form.text, $("#text-count"));
  const region = $("#propose-status");
  if (param("kind")) {
    const radio = form.querySelector(`input[name=kind][value="${CSS.escape(param("kind"))}"]`);
    if (radio) radio.checked = true;
  }
  if (param("platform")) form.platform.value = param("platform");
  if (param("requester")) form.requester.value = param("requester");

  const showKind = () => {
    const kind = form.elements.namedItem("kind").value;
    $("#requester-fields").hidden = kind === "idea";
    $("#reason-field").hidden = kind !== "block";
  };
  form.addEventListener("change", showKind);
  showKind();

  try {
    windowOptions(form.elements.namedItem("window"), $("#window-hint"), (await charter()).record.body);
  } catch (err) {
    sayError(region, err);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearInvalid(form);
    try {
      const result = await busy(form, region, "Signing your proposal and sending it…", async () => {
        const body = proposalBody(form, pitchOk, textOk, await nodeNow());
        return { ...(await signAndPost("proposal", body)), body };
      });
      say(region, "ok", `Your proposal is open for voting for ${duration(result.body.closes - result.body.opens)}. Don't forget to vote on it yourself.`, {
        links: [el("a", { href: "/app/proposals" }, "Go to open proposals")],
      });
      form.pitch.value = "";
      form.text.value = "";
      form.pitch.dispatchEvent(new Event("input"));
      form.text.dispatchEvent(new Event("input"));
    } catch (err) {
      sayError(region, err, {
        links: err.code === "not_member" || err.code === "no_key" ? [el("a", { href: "/app/join" }, "Go to the Join page")] : [],
      });
      markInvalid(err);
    }
  });
}

main();
