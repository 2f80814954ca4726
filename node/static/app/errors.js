// The node's refusal codes (node/api_errors.py) as plain sentences a member can act on.
//
// The node's own message stays available under "Details"; these sentences say what
// happened and what to do, without protocol words.

const SENTENCES = {
  // no answer
  network: "We couldn't reach your co-op's node. Check your connection and try again.",
  // standing
  not_member:
    "You're not a member of this co-op yet, so the node can't accept this. " +
    "Join first with an invite (or by asking the members), then try again.",
  revoked: "Your membership of this co-op has ended, so the node no longer accepts your records.",
  not_eligible:
    "You can't vote on this one: only people who were members when it was proposed are on its list of voters.",
  not_author: "You can only change or withdraw what you wrote yourself.",
  coop_only: "Only the co-op's node can sign this kind of record.",
  wrong_type: "This kind of record can't be sent here.",
  // invites and joining
  bad_invite:
    "That invite code isn't one this co-op issued. Check that you copied all of it, or ask for a new one.",
  invite_used: "That invite has been used already. Ask a member or the node's operator for a new one.",
  invite_expired: "That invite has expired. Ask a member or the node's operator for a new one.",
  invite_required: "This co-op takes new members by invite only. Ask a member for an invite code.",
  invite_not_allowed: "This co-op takes new members by a vote of its members, not by invite.",
  already_member: "This key is a member of the co-op already. There's nothing more to do.",
  already_applied:
    "This key has applied already: the application waits for a member to sponsor it, or the members are voting on it.",
  no_members: "The co-op has no members yet who could sponsor an application.",
  applications_full:
    "The co-op has as many applications waiting for a sponsor as it takes right now. Try again in a few days, or ask a member for an invite.",
  application_expired: "That application waited too long without a sponsor and was dropped. The applicant can apply again.",
  unknown_application: "That application isn't waiting here any more. Reload the page to see the current list.",
  already_sponsored: "Another member has sponsored this application already. Vote on it under Open proposals.",
  // voting
  voting_closed: "Voting on this proposal has closed. The result will appear on the Decisions page.",
  voting_not_open: "Voting on this proposal hasn't opened yet.",
  voting_open: "This proposal is still open for voting.",
  already_decided: "This proposal has been decided already.",
  bad_choice: "That isn't one of the choices for this proposal.",
  bad_window: "The voting time you chose is outside what the charter allows. Pick another length.",
  unknown_role: "The charter has no such role.",
  // requesters, flags, blocks
  expired: "The flag would stop counting before it starts. Choose at least one day.",
  too_long: "A flag can count for at most 365 days.",
  not_blocked: "That requester isn't blocked, so there's nothing to unblock.",
  already_blocked: "That requester is blocked already.",
  already_retracted: "You withdrew that already.",
  still_flagged: "That requester is still flagged by enough members.",
  // time and bytes
  skew:
    "Your device's clock and the node's clock disagree by more than a few minutes. Reload the page and try again.",
  bad_signature:
    "The node couldn't check your signature. Your saved key may be damaged: restore it from your backup.",
  decode_error: "The app sent something the node couldn't read. Reload the page and try again.",
  invalid_identity: "That key or member name isn't valid.",
  wrong_coop: "This was signed for another co-op. Reload the page and try again.",
  duplicate: "This is in the co-op's log already.",
  too_large: "That's too long for the node to accept. Please shorten the text.",
  not_one_line: "A pitch or a name is one line: take out the line break or tab.",
  unsupported_media_type: "The app sent this in a form the node doesn't take. Reload the page and try again.",
  // not found
  not_found: "The node doesn't have that.",
  unknown_record: "The node doesn't have that record.",
  unknown_proposal: "The node doesn't know that proposal. It may be on another co-op's node.",
  unknown_reference: "This refers to something that isn't in the co-op's log.",
  // the node itself
  rate_limited: "You're sending a lot in a short time. Wait a minute, then try again.",
  too_many_connections:
    "Too many connections from your network are open to the node. Wait a moment, then try again.",
  internal: "The node ran into a problem of its own. Please try again in a little while.",
  http_502: "The node isn't answering right now. Please try again in a little while.",
  http_503: "The node isn't answering right now. Please try again in a little while.",
  http_504: "The node took too long to answer. Please try again.",
  // in the browser
  no_key: "You need a key first. Make one on the Join page: it takes a minute.",
  no_webcrypto:
    "This browser can't make keys on this page. Open the app over HTTPS (or on localhost), in an up-to-date browser.",
  no_ed25519:
    "This browser can't make the kind of key coopfed uses (Ed25519). Please update it: recent Chrome, Edge, Firefox and Safari all can.",
};

// Codes whose server message carries the detail a member needs (which field is wrong).
const WITH_DETAIL = {
  invalid_record: "Something in what you sent isn't accepted",
  invalid: "Something in what you sent isn't accepted",
  bad_request: "The node couldn't use this request",
  mismatch: "This doesn't match what the co-op has on record",
  wrong_reference: "This refers to the wrong kind of record",
  local_error: "This browser couldn't sign it",
};

/**
 * The sentence for a refusal `code`; `message` is the node's own sentence. Unknown codes
 * fall back on the node's message, which always names what was wrong.
 */
export function plainSentence(code, message = "", status = 0) {
  if (SENTENCES[code]) return SENTENCES[code];
  const lead = WITH_DETAIL[code];
  const detail = message ? `: ${message.replace(/\.$/, "")}.` : ".";
  if (lead) return lead + detail;
  if (status >= 500) return SENTENCES.internal;
  if (message) return `The node refused this${detail}`;
  return "The node refused this.";
}

export const KNOWN_CODES = Object.freeze(Object.keys(SENTENCES));
