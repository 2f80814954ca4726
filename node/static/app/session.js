// What every page shares: the menu, the "you are" line, and signing records with the
// member's key (which never leaves this browser: only signed records go to the node).

import { handleFor, publicKeyFromDid } from "../js/identity.js";
import { signRecord } from "../js/records.js";
import { $, api, ApiError, coopInfo, el, fill, nodeNow, postRecord, resetClock } from "./core.js";
import { loadKey } from "./keystore.js";

let membersPromise = null;

/** The co-op's members (/api/v1/members), fetched once per page unless `fresh`. */
export function members({ fresh = false } = {}) {
  if (!membersPromise || fresh) {
    membersPromise = api("/api/v1/members").catch((e) => {
      membersPromise = null;
      throw e;
    });
  }
  return membersPromise;
}

/**
 * Who is using this browser: {key: stored entry or null, member: bool, roles: [...]}.
 * A node that can't be reached leaves `member` null (unknown).
 */
export async function me({ fresh = false } = {}) {
  const key = await loadKey().catch(() => null);
  if (!key) return { key: null, member: false, roles: [] };
  try {
    const list = await members({ fresh });
    const found = list.members.find((m) => m.did === key.did);
    return { key, member: Boolean(found), roles: found ? found.roles : [] };
  } catch {
    return { key, member: null, roles: [] };
  }
}

/** A local refusal shaped like the node's, so pages show it the same way. */
function noKey() {
  return new ApiError(0, "no_key", "there is no key in this browser");
}

/**
 * Sign a record of `type` with `body` as this browser's member, stamped with the node's
 * clock, and hand its bytes to `send`. A "skew" refusal means this device's clock moved
 * since the page read the node's: read it again and sign once more.
 */
async function signAndSend(type, body, send) {
  const key = await loadKey();
  if (!key) throw noKey();
  const { coop } = await coopInfo();
  const attempt = async () => {
    const ts = await nodeNow();
    const bytes = await signRecord(
      { privateKey: key.privateKey, publicKey: key.publicKey },
      { type, coop, ts, body },
    );
    return send(bytes);
  };
  try {
    return await attempt();
  } catch (err) {
    if (!(err instanceof ApiError) || err.code !== "skew") throw err;
    resetClock();
    return attempt();
  }
}

/** Sign a record and post it to the co-op's log; returns the node's {id, index}. */
export function signAndPost(type, body) {
  return signAndSend(type, body, postRecord);
}

/** Sign a member.apply record and post it to /api/v1/join, with an invite token or none. */
export async function join({ token = null, text = "" } = {}) {
  const send = (bytes) => {
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return api("/api/v1/join", { method: "POST", json: token ? { apply: hex, token } : { apply: hex } });
  };
  const result = await signAndSend("member.apply", text ? { text } : {}, send);
  membersPromise = null;
  return result;
}

// ------------------------------------------------------------------------------- the shell

function setUpMenu() {
  const button = document.querySelector(".menu-toggle");
  const header = document.querySelector(".site-header");
  if (!button || !header) return;
  button.addEventListener("click", () => {
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    header.classList.toggle("menu-open", open);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && header.classList.contains("menu-open")) {
      header.classList.remove("menu-open");
      button.setAttribute("aria-expanded", "false");
      button.focus();
    }
  });
}

/** Fill the "you are" line under the header. */
export async function showWhoami(state = null) {
  const line = document.getElementById("whoami");
  if (!line) return;
  const who = state || (await me());
  const onJoin = location.pathname === "/app/join";
  if (!who.key) {
    fill(
      line,
      el("p", {}, "You have no key in this browser yet.", onJoin ? null : [" ", el("a", { href: "/app/join" }, "Join the co-op"), "."]),
    );
    return;
  }
  const badge =
    who.member === true
      ? el("span", { class: "badge badge-ok" }, "member")
      : who.member === false
        ? el("span", { class: "badge badge-warn" }, "not a member yet")
        : el("span", { class: "badge" }, "membership unknown");
  fill(
    line,
    el(
      "p",
      {},
      "You are ",
      el("a", { href: "/app/key", class: "handle" }, who.key.handle),
      " ",
      badge,
      who.member === false && !onJoin ? [" · ", el("a", { href: "/app/join" }, "Join")] : null,
    ),
  );
}

/** Run by every page module first: menu, "you are" line; returns the member state. */
export async function startPage() {
  setUpMenu();
  // Read the node's clock once, so times shown ("closes in 2 hours") are the node's.
  const [state] = await Promise.all([me(), nodeNow().catch(() => null)]);
  await showWhoami(state);
  return state;
}

/** Put keyboard focus on a region that just changed (for results that replace the form). */
export function focusOn(node) {
  if (!node) return;
  if (!node.hasAttribute("tabindex")) node.setAttribute("tabindex", "-1");
  node.focus();
}

export { $ };

// ------------------------------------------------------------------------------- names

const handles = new Map();

/** The readable handle of a member's DID ("brave_otter"); the co-op's own DID is "the co-op". */
export async function handleOf(did) {
  const { coop } = await coopInfo();
  if (did === coop) return "the co-op";
  if (!handles.has(did)) {
    handles.set(
      did,
      (async () => {
        try {
          return await handleFor(publicKeyFromDid(did));
        } catch {
          return did;
        }
      })(),
    );
  }
  return handles.get(did);
}
