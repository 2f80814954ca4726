// Bar charts as SVG with their numbers in text beside them: the bar is decoration for the
// eye (aria-hidden), the table cell next to it is what every reader gets.

import { svg } from "./core.js";

/** A horizontal bar, `value` of `max`, as an SVG that stretches to its cell. */
export function bar(value, max, { tone = "" } = {}) {
  const width = max > 0 ? Math.max(0, Math.min(100, (value / max) * 100)) : 0;
  return svg(
    "svg",
    {
      class: `bar ${tone ? `bar-${tone}` : ""}`.trim(),
      viewBox: "0 0 100 10",
      preserveAspectRatio: "none",
      "aria-hidden": "true",
      focusable: "false",
    },
    svg("rect", { class: "bar-track", x: 0, y: 0, width: 100, height: 10, rx: 2 }),
    width > 0 ? svg("rect", { class: "bar-fill", x: 0, y: 0, width: width.toFixed(2), height: 10, rx: 2 }) : null,
  );
}
