// The co-op's node and its federation: log, checkpoint, peers, witnesses, alerts.
//
// /api/v1/status carries a "federation" object (peers, witnessed_by, equivocations,
// distrusted). A node without it, or with fields this page does not know, still shows: the
// known fields are drawn by name, missing ones read "none", and anything else is listed
// under "Other details", so nothing the node reports is hidden.

import { $, api, el, fill, plural, relative, sayError, timeEl } from "../core.js";
import { handleOf, members, startPage } from "../session.js";

const KNOWN_STATUS = new Set([
  "coop", "name", "origin", "size", "checkpoint", "charter", "members", "open_proposals", "blocks",
  "governance_due", "clock_offset_ms", "federation",
]);
const KNOWN_FEDERATION = new Set(["peers", "witnessed_by", "witnesses", "equivocations", "distrusted", "last_sync"]);
const PEER_STATUS = {
  active: { word: "In step", tone: "ok" },
  refused: { word: "Last sync failed", tone: "warn" },
  invalid: { word: "Its log breaks its own rules", tone: "no" },
  equivocated: { word: "Showed two different histories", tone: "no" },
};

/** A time given as Unix ms, Unix seconds or ISO text, as ms; null if it isn't one. */
function asMs(value) {
  if (typeof value === "number" && Number.isFinite(value) && value > 0) return value > 1e12 ? value : value * 1000;
  if (typeof value === "string" && /^\d{4}-\d\d-\d\d/.test(value)) {
    const t = Date.parse(value);
    return Number.isNaN(t) ? null : t;
  }
  return null;
}

function when(value, never = "never") {
  const ms = asMs(value);
  if (ms === null) return never;
  return el("span", {}, relative(ms), " ", el("span", { class: "muted" }, "(", timeEl(ms), ")"));
}

/** A list given as an array, or as an object keyed by id. */
function listOf(value) {
  if (Array.isArray(value)) return value;
  if (value && typeof value === "object") {
    return Object.entries(value).map(([k, v]) => (v && typeof v === "object" ? { did: k, ...v } : { did: k, value: v }));
  }
  return [];
}

async function nameOf(item, peersByDid = new Map()) {
  if (typeof item === "string") {
    if (peersByDid.has(item)) return nameOf(peersByDid.get(item));
    return item.startsWith("did:key:") ? handleOf(item) : item;
  }
  if (item && (item.name || item.handle)) return String(item.name || item.handle);
  const did = item && (item.did || item.coop);
  if (typeof did === "string") return nameOf(did, peersByDid);
  return "an unnamed co-op";
}

function fact(term, value) {
  return value === undefined || value === null || value === "" ? [] : [el("dt", {}, term), el("dd", {}, value)];
}

async function peerCard(peer) {
  const status = PEER_STATUS[peer.status] || (peer.status ? { word: String(peer.status), tone: "info" } : null);
  const held = typeof peer.held === "number" ? peer.held : peer.size;
  const log =
    typeof held === "number"
      ? `${plural(held, "record")} held here${typeof peer.verified === "number" ? `, checked against its signed checkpoint up to ${peer.verified}` : ""}`
      : null;
  const problem = peer.last_error ? el("span", { class: "text-bad" }, String(peer.last_error)) : null;
  const retry =
    peer.failures > 0
      ? [`${plural(peer.failures, "failed try", "failed tries")}`, asMs(peer.next_try) ? [", next ", relative(asMs(peer.next_try))] : null]
      : null;
  return el(
    "li",
    { class: `peer ${status && status.tone === "no" ? "peer-alert" : ""}` },
    el(
      "p",
      { class: "peer-name" },
      el("strong", {}, await nameOf(peer)),
      peer.handle && peer.name ? el("span", { class: "muted" }, ` (${peer.handle})`) : null,
      " ",
      status ? el("span", { class: `badge badge-${status.tone}` }, status.word) : null,
    ),
    el(
      "dl",
      { class: "facts facts-compact" },
      fact("Last sync", when(peer.last_sync)),
      fact("Its log", log),
      fact("Blocks it has", typeof peer.blocks === "number" ? String(peer.blocks) : null),
      fact("Problem", problem),
      fact("Retrying", retry),
      fact("Address", peer.url ? el("span", { class: "did" }, String(peer.url)) : null),
      fact("Key", peer.did ? el("code", { class: "did" }, peer.did) : null),
    ),
  );
}

async function alerts(fed, peersByDid) {
  const out = [];
  for (const e of listOf(fed.equivocations)) {
    const did = e.coop || e.did;
    const who = await nameOf(did || e, peersByDid);
    out.push(
      el(
        "div",
        { class: "alert", role: "alert" },
        el("h2", {}, `Warning: ${who} showed two different histories`),
        el(
          "p",
          {},
          `The co-op ${who} signed two versions of its log that cannot both be true. This node keeps both signed versions as proof, `,
          "and no longer adopts that co-op's blocks.",
          asMs(e.found_at) ? [" Found ", when(e.found_at), "."] : null,
        ),
        did ? el("p", {}, el("a", { href: `/api/v1/equivocations/${encodeURIComponent(did)}` }, "Download the proof"), " — anyone can check it.") : null,
      ),
    );
  }
  return out;
}

function otherDetails(obj, skip) {
  const rows = [];
  for (const [k, v] of Object.entries(obj || {})) {
    if (skip.has(k)) continue;
    rows.push(el("dt", {}, k.replaceAll("_", " ")), el("dd", {}, typeof v === "object" && v !== null ? el("code", { class: "did" }, JSON.stringify(v)) : String(v)));
  }
  return rows.length ? el("details", { class: "technical" }, el("summary", {}, "Other details"), el("dl", { class: "facts" }, rows)) : null;
}

async function federationPart(fed, peers, peersByDid) {
  const parts = [];
  if (fed === null) {
    parts.push(el("p", {}, "This node doesn't report on federation: it follows no other co-op here, and shows no witnesses."));
    return parts;
  }
  const lastSync = Math.max(0, ...peers.map((p) => asMs(p.last_sync) || 0), asMs(fed.last_sync) || 0);
  parts.push(el("p", {}, "Last sync with another co-op: ", lastSync ? when(lastSync) : "never", "."));
  parts.push(el("h3", {}, `Co-ops this co-op follows (${peers.length})`));
  if (peers.length) {
    const items = [];
    for (const p of peers) items.push(await peerCard(p));
    parts.push(el("ul", { class: "peers" }, items));
  } else {
    parts.push(el("p", {}, "None yet. The node's operator adds them, under the policy the members vote."));
  }
  const witnesses = listOf(fed.witnessed_by ?? fed.witnesses);
  parts.push(el("h3", {}, `Witnesses (${witnesses.length})`));
  parts.push(el("p", { class: "hint" }, "Other co-ops that checked and countersigned this co-op's latest checkpoint, so its history can't be quietly rewritten."));
  if (witnesses.length) {
    const items = [];
    for (const w of witnesses) items.push(el("li", {}, await nameOf(w, peersByDid)));
    parts.push(el("ul", { class: "witnesses" }, items));
  } else {
    parts.push(el("p", {}, "None yet."));
  }
  const distrusted = listOf(fed.distrusted);
  if (distrusted.length) {
    const names = [];
    for (const d of distrusted) names.push(await nameOf(d, peersByDid));
    parts.push(el("p", { class: "text-bad" }, `Not trusted any more: ${names.join(", ")}.`));
  }
  const other = otherDetails(fed, KNOWN_FEDERATION);
  if (other) parts.push(other);
  return parts;
}

async function main() {
  await startPage();
  let status;
  try {
    status = await api("/api/v1/status");
  } catch (err) {
    sayError($("#coop-status"), err);
    fill($("#federation"));
    fill($("#members"));
    return;
  }
  const cp = status.checkpoint;
  fill(
    $("#coop-facts"),
    fact("Name", status.name),
    fact("Co-op key", el("code", { class: "did" }, status.coop)),
    fact("Log", `${plural(status.size, "record")}, every one signed`),
    fact("Last checkpoint", cp ? [`covers ${plural(cp.size, "record")}, signed `, when(cp.signed_at)] : "none yet"),
    fact("Members", String(status.members)),
    fact("Open proposals", el("a", { href: "/app/proposals" }, String(status.open_proposals))),
    fact("Blocked requesters", el("a", { href: "/app/blocklist" }, String(status.blocks))),
    status.clock_offset_ms ? fact("Clock", `Moved by ${Math.round(status.clock_offset_ms / 60_000)} minutes for a demo or test.`) : [],
  );
  const extra = otherDetails(status, KNOWN_STATUS);
  if (extra) $("#coop-facts").after(extra);

  const fed = status.federation && typeof status.federation === "object" ? status.federation : null;
  const peers = fed ? listOf(fed.peers) : [];
  const peersByDid = new Map(peers.filter((p) => p && p.did).map((p) => [p.did, p]));
  fill($("#federation"), await federationPart(fed, peers, peersByDid));
  if (fed) fill($("#alerts"), await alerts(fed, peersByDid));

  try {
    const list = await members();
    const shown = list.members.slice(0, 200);
    fill(
      $("#members"),
      el("p", {}, `${plural(list.count, "member")}. Members are known here only by nicknames made from their keys.`),
      el("ul", { class: "member-list" }, shown.map((m) => el("li", {}, m.handle, m.roles.length ? el("span", { class: "muted" }, ` (${m.roles.join(", ")})`) : null))),
      list.count > shown.length ? el("p", { class: "muted" }, `and ${list.count - shown.length} more`) : null,
    );
  } catch (err) {
    sayError($("#members"), err);
  }
}

main();
