// Words for the protocol's codes: flag reasons, score dimensions, proposal kinds, results.

export const REASONS = [
  { code: "underpaid", label: "Underpaid", help: "pays far below a fair hourly rate" },
  { code: "unfair_rejection", label: "Unfair rejections", help: "rejects good work, or gives no reason" },
  { code: "broken", label: "Broken task", help: "doesn't work: no submit button, dead links, a broken survey" },
  { code: "scam", label: "Scam", help: "fake work, phishing, or asks you to pay" },
  { code: "harmful_content", label: "Harmful content", help: "disturbing material without a warning" },
  { code: "privacy", label: "Privacy", help: "asks for personal data it shouldn't" },
  { code: "unpaid_screener", label: "Unpaid screener", help: "long unpaid screening or qualification" },
  { code: "terms_violation", label: "Breaks platform rules", help: "off-site work, fees, or other rule breaking" },
  { code: "other", label: "Other", help: "say what happened in the note" },
];

export function reasonLabel(code) {
  const found = REASONS.find((r) => r.code === code);
  return found ? found.label : code;
}

export const DIMENSIONS = [
  { code: "pay", label: "Pay", help: "how well the work pays for the time it takes" },
  { code: "fair", label: "Fairness", help: "fair approvals and rejections" },
  { code: "comm", label: "Communication", help: "answers messages and fixes problems" },
  { code: "fast", label: "Promptness", help: "approves and pays quickly" },
];

export const KINDS = {
  idea: "Idea",
  block: "Block a requester",
  unblock: "Unblock a requester",
  admit: "New member",
  revoke: "End a membership",
  amend: "Change the charter",
  elect: "Election",
};

export const CHOICE_WORDS = {
  yes: "Yes",
  no: "No",
  abstain: "Abstain",
  up: "Support",
  down: "Oppose",
};

export const RESULTS = {
  passed: { label: "Passed", tone: "ok" },
  rejected: { label: "Not passed", tone: "no" },
  no_quorum: { label: "Not enough members voted", tone: "no" },
  tied: { label: "Tied", tone: "no" },
  elected: { label: "Elected", tone: "ok" },
  launched: { label: "Launched", tone: "ok" },
  not_launched: { label: "Not launched", tone: "no" },
  open: { label: "Open", tone: "info" },
};

export const REJECTED = { none: "None rejected", some: "Some rejected", all: "All rejected" };
