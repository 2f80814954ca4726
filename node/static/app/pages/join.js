// Joining: make (or restore) the key in this browser, then redeem an invite or ask for a vote.

import { $, api, busy, charter, clear, coopInfo, dateOnly, dateTime, el, fill, FormError, say, sayError } from "../core.js";
import { attachCounter } from "../counter.js";
import { showKeyFacts } from "../keyfacts.js";
import { checkPassphrase, checkSupport, createKey, downloadBackup, restoreKey } from "../keystore.js";
import { focusOn, join, me, showWhoami, startPage } from "../session.js";

let admission = null;

function inviteFromUrl() {
  // Only the fragment (#invite=…) stays in the browser. A code after "?" has been sent to
  // the node, where logs may keep it: it is not used, and the member is told why.
  const token = new URLSearchParams(location.hash.slice(1)).get("invite") || "";
  const sent = new URLSearchParams(location.search).has("invite");
  if (token || sent) {
    // The code is a secret: keep it out of the address bar and the history once read.
    history.replaceState(null, "", location.pathname);
  }
  if (sent) {
    say(
      $("#link-warning"),
      "error",
      "This invite link was not used: its code comes after a “?”, which sends it to the " +
        "server, where it may be kept in logs. Ask whoever sent it for a new link: a safe one " +
        "has “#invite=” in it.",
    );
  } else if (token) {
    clear($("#link-warning"));
  }
  return token.trim();
}

function showKey(key) {
  $("#key-new").hidden = true;
  $("#key-made").hidden = false;
  showKeyFacts($("#key-facts"), key);
  $("#download").onclick = () => downloadBackup(key);
}

async function showJoin(state) {
  $("#join-needs-key").hidden = Boolean(state.key);
  if (!state.key) {
    if ($("#token").value) $("#join-needs-key").textContent = "Your invite code is ready. Make your key first, then join here.";
    return;
  }
  if (state.member) {
    const { name } = await coopInfo();
    $("#join-forms").hidden = true;
    fill(
      $("#join-done"),
      el("div", { class: "message message-ok" },
        el("p", {}, `You're a member of ${name}.`),
        el("p", {}, "Next: ", el("a", { href: "/app/requester" }, "look up a requester"), ", ", el("a", { href: "/app/rate" }, "rate one"), " or ", el("a", { href: "/app/proposals" }, "vote"), "."),
      ),
    );
    $("#join-done").hidden = false;
    return;
  }
  $("#invite").hidden = admission !== "invite";
  $("#apply").hidden = admission !== "vote";
  if (admission === "vote") await showPending(state.key.did);
}

function waitingSentence(expires) {
  return (
    "Your application is in, and waits for a member to sponsor it: the members vote only once a member does. " +
    `If no member sponsors it by ${dateOnly(expires)}, it is dropped and you can apply again.`
  );
}

/** Say so when this key's application is already waiting for a sponsor. */
async function showPending(did) {
  try {
    const { applications } = await api("/api/v1/applications");
    const mine = applications.find((a) => a.member === did);
    if (!mine) return;
    say($("#apply-status"), "ok", waitingSentence(Date.parse(`${mine.expires}T12:00:00Z`)));
    $("#apply").querySelector("button").disabled = true;
  } catch {
    // The list is a courtesy; applying again would say the same.
  }
}

async function afterKey(key) {
  showKey(key);
  const state = await me({ fresh: true });
  await showWhoami(state);
  await showJoin(state);
  return state;
}

async function main() {
  const state = await startPage();
  const takeInvite = () => {
    const token = inviteFromUrl();
    if (token) {
      $("#token").value = token;
      if ($("#invite").hidden && !$("#join-needs-key").hidden) {
        $("#join-needs-key").textContent = "Your invite code is ready. Make your key first, then join here.";
      }
    }
  };
  takeInvite();
  // An invite link opened while this page is showing changes only the fragment.
  window.addEventListener("hashchange", takeInvite);
  try {
    admission = (await charter()).record.body.admission;
  } catch (err) {
    sayError($("#invite-status"), err);
    admission = "invite";
  }
  try {
    await checkSupport();
  } catch (err) {
    sayError($("#support"), err);
    $("#create").hidden = true;
    $("#restore-box").hidden = true;
  }
  if (state.key) showKey(state.key);
  await showJoin(state);

  $("#create").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const region = $("#create-status");
    try {
      checkPassphrase(form.pass.value, form.pass2.value);
    } catch (err) {
      sayError(region, err);
      form.pass.focus();
      return;
    }
    try {
      const key = await busy(form, region, "Making your key and locking its backup. This takes a few seconds…", async () => {
        const { coop } = await coopInfo();
        return createKey(form.pass.value, { node: location.origin, coop });
      });
      form.reset();
      clear(region);
      await afterKey(key);
      say($("#invite-status"), "ok", `Your key is ready: you are ${key.handle}. Download the backup file now, then join.`);
      focusOn($("#step-key-title"));
    } catch (err) {
      sayError(region, err);
    }
  });

  $("#restore").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const region = $("#restore-status");
    const file = form.file.files[0];
    try {
      if (!file) throw new FormError("Choose your backup file first.", form.file);
      if (file.size > 16_384) throw new FormError("That file is too big to be a coopfed key backup.", form.file);
      const text = await file.text();
      const key = await busy(form, region, "Opening your backup. This takes a few seconds…", () =>
        restoreKey(text, form.pass.value),
      );
      form.reset();
      clear(region);
      const after = await afterKey(key);
      const where = after.member ? "You're a member of this co-op." : "Next, join the co-op.";
      say($("#invite-status"), "ok", `Welcome back, ${key.handle}. ${where}`);
      focusOn($("#step-key-title"));
    } catch (err) {
      sayError(region, err);
    }
  });

  const applyText = $("#apply-text");
  const applyOk = attachCounter(applyText, $("#apply-count"));

  $("#invite").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const region = $("#invite-status");
    const code = form.token.value.trim();
    if (!code) {
      say(region, "error", "Paste the invite code you were given.");
      form.token.focus();
      return;
    }
    try {
      const result = await busy(form, region, "Signing your application and sending it…", () => join({ token: code }));
      const { name } = await coopInfo();
      say(region, "ok", `Welcome to ${name}, ${result.handle}! You're a member now.`, {
        links: [el("a", { href: "/app/requester" }, "Look up a requester"), el("a", { href: "/app/proposals" }, "See open proposals")],
      });
      form.hidden = true;
      $("#join-done").hidden = false;
      fill($("#join-done"), $("#invite-status"));
      await showWhoami(await me({ fresh: true }));
      focusOn($("#step-join-title"));
    } catch (err) {
      sayError(region, err);
    }
  });

  $("#apply").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const region = $("#apply-status");
    if (!applyOk()) {
      say(region, "error", "What you wrote about yourself is longer than 1000 characters.");
      applyText.focus();
      return;
    }
    try {
      const result = await busy(form, region, "Signing your application and sending it…", () =>
        join({ text: applyText.value.trim() }),
      );
      if (result.status === "pending") {
        say(region, "ok", waitingSentence(result.expires), {
          links: [el("a", { href: "/app/proposals" }, "See proposals and waiting applications")],
        });
        form.querySelector("button").disabled = true;
        return;
      }
      let closes = "";
      try {
        const proposal = await api(`/api/v1/proposals/${result.id}`);
        closes = ` Voting closes ${dateTime(proposal.body.closes)}.`;
      } catch {
        closes = "";
      }
      say(region, "ok", `Your application is in. The members are voting on it now.${closes}`, {
        links: [el("a", { href: "/app/proposals" }, "See the vote"), el("a", { href: "/app/decisions" }, "Decisions")],
      });
      form.querySelector("button").disabled = true;
    } catch (err) {
      sayError(region, err);
    }
  });
}

main();
