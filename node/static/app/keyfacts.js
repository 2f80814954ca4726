// The facts about a member's key, as a definition list (shared by the Join and Key pages).

import { el, fill } from "./core.js";

export function showKeyFacts(dl, key) {
  fill(
    dl,
    el("dt", {}, "Your nickname"),
    el("dd", {}, el("strong", { class: "handle", "data-testid": "handle" }, key.handle), " ", el("span", { class: "muted" }, `(${key.longHandle} in full)`)),
    el("dt", {}, "Your public key (DID)"),
    el("dd", {}, el("code", { class: "did", "data-testid": "did" }, key.did)),
    el("dt", {}, "Private key"),
    el("dd", {}, "Kept in this browser only. It cannot be copied out, not even by this app."),
  );
}
