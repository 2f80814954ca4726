// Your key: who you are, the backup file, a new passphrase, removing the key from this browser.

import { $, busy, clear, el, say, sayError } from "../core.js";
import { showKeyFacts } from "../keyfacts.js";
import {
  changePassphrase,
  checkPassphrase,
  checkStoredPassphrase,
  downloadBackup,
  forgetKey,
  loadKey,
} from "../keystore.js";
import { me, showWhoami, startPage } from "../session.js";

async function main() {
  const state = await startPage();
  if (!state.key) {
    $("#no-key").hidden = false;
    return;
  }
  $("#has-key").hidden = false;
  showKeyFacts($("#identity"), state.key);
  const membership =
    state.member === true
      ? `Member${state.roles.length ? ` (${state.roles.join(", ")})` : ""}`
      : state.member === false
        ? "Not a member yet"
        : "Unknown (the node did not answer)";
  $("#identity").append(
    el("dt", {}, "Membership"),
    el("dd", {}, membership, state.member === false ? [" · ", el("a", { href: "/app/join" }, "Join")] : null),
  );

  $("#download").addEventListener("click", async () => {
    const name = downloadBackup(await loadKey());
    say($("#key-status"), "ok", `Your backup is downloading as ${name}. Keep it with your passphrase somewhere safe.`);
  });

  $("#change-pass").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const region = $("#change-status");
    try {
      checkPassphrase(form.new.value, form.new2.value);
      await busy(form, region, "Locking your backup with the new passphrase…", () =>
        changePassphrase(form.old.value, form.new.value),
      );
      form.reset();
      say(region, "ok", "Done. Download the backup file again: the new passphrase opens it.");
    } catch (err) {
      sayError(region, err);
    }
  });

  $("#forget").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const region = $("#forget-status");
    try {
      await busy(form, region, "Checking your passphrase…", () => checkStoredPassphrase(form.pass.value));
      await forgetKey();
      form.reset();
      clear(region);
      $("#has-key").hidden = true;
      $("#no-key").hidden = false;
      say($("#key-status"), "ok", "Your key is removed from this browser. Restore it from your backup file on the Join page.");
      await showWhoami(await me());
    } catch (err) {
      sayError(region, err);
    }
  });
}

main();
