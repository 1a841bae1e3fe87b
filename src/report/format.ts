/**
 * How Brink writes numbers and names for readers — the CLI's text, the HTML report and the browser app say the
 * same things the same way. Pure: no Node, no DOM. (`--json` and the CSV/JSON exports keep raw numbers.)
 */

/**
 * The one name of the end state with no outcome: the run reached the horizon with none of the model's outcomes.
 * (`censored` in `--json`, claims' `P(censored)` and data exports: a contract, so it stays there.)
 */
export const STILL_GOING = "still going at the horizon";

/** An end state's name as a reader sees it: `censored` (the data key) is the run still going at the horizon. */
export const endStateName = (o: string) => (o === "censored" ? STILL_GOING : o);

/**
 * A whole number with thousands separators, as `toLocaleString("en")` writes it, without loading the locale
 * data (tens of milliseconds at a command's start).
 */
export function grouped(n: number): string {
  if (!Number.isSafeInteger(n) || Object.is(n, -0)) return n.toLocaleString("en");
  return String(n).replace(/\B(?=(\d{3})+$)/g, ",");
}

/** Whole numbers with thousands separators, the same on every locale. */
export const count = (n: number) => grouped(Math.round(n));

/**
 * A probability as a percentage with sensible digits: one decimal from 1% up (84.9%), two significant digits
 * below (0.55%, 0.031%), 0% and 100% exactly when they are.
 */
export function percent(p: number | null): string {
  if (p === null || !Number.isFinite(p)) return "–";
  const x = 100 * p;
  if (x === 0) return "0%";
  if (Math.abs(x) >= 1 || Math.abs(x) < 1e-9) return `${x.toFixed(1)}%`;
  return `${Number(x.toPrecision(2))}%`;
}

/** A difference of probabilities in signed percentage points (+4.4 pt, −0.7 pt). */
export function points(d: number | null): string {
  if (d === null || !Number.isFinite(d)) return "–";
  const x = Math.abs(100 * d) < 0.05 ? 0 : 100 * d;
  return `${x > 0 ? "+" : x < 0 ? "−" : "±"}${Math.abs(x).toFixed(1)} pt`;
}

/**
 * A measured quantity (a mean, a quantile, a stock): three significant digits with thousands separators and no
 * exponent for the sizes models use (1,220; 0.0546; 1), tiny values as 0 when they are noise next to `scale`.
 */
export function quantity(x: number | null, scale?: number): string {
  if (x === null || !Number.isFinite(x)) return "–";
  if (x === 0 || (scale !== undefined && Math.abs(x) < 1e-9 * Math.max(1, Math.abs(scale)))) return "0";
  const rounded = Number(x.toPrecision(3));
  const a = Math.abs(rounded);
  if (a >= 1e15 || a < 1e-6) return rounded.toExponential(2).replace(/\.?0+e/, "e");
  if (a >= 1000) return grouped(Math.round(rounded));
  return String(rounded);
}

/** A signed difference of quantities (+0.0038, −12). */
export const signedQuantity = (x: number | null, scale?: number) => {
  const s = quantity(x, scale);
  return x !== null && Number.isFinite(x) && s !== "0" && !s.startsWith("-") ? `+${s}` : s;
};

/** An estimate with its interval: `1,220 [998 – 1,450]`, `84.9% [84.2% – 85.6%]`. */
export const withInterval = (
  f: (x: number | null) => string,
  x: number | null,
  lo: number | null,
  hi: number | null,
) => (x === null ? "–" : lo === null || hi === null ? f(x) : `${f(x)} [${f(lo)} – ${f(hi)}]`);

/** A time on the model's clock with its unit: the date when the model has one, else `104 week`. */
export const modelTime = (t: number | null, unit: string | null, date?: string | null) =>
  date ? date : t === null ? "–" : `${quantity(t)} ${unit ?? "time units"}`;

/** What a claim's estimate is, read from its check: the left side, or left − right when both sides are terms. */
export type EstimateKind = "probability" | "difference of probabilities" | "mean" | "quantile" | "difference";

/** A claim's check split at its comparison, the one at the top level (not inside a term, as in P(x at T > 3)). */
export function splitCheck(check: string): { left: string; op: string; right: string } {
  let depth = 0;
  for (let i = 0; i < check.length; i++) {
    const c = check[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (depth === 0 && (c === "<" || c === ">")) {
      const op = check[i + 1] === "=" ? `${c}=` : c;
      return { left: check.slice(0, i).trim(), op, right: check.slice(i + op.length).trim() };
    }
  }
  return { left: check.trim(), op: "", right: "" };
}

export function estimateKind(check: string): EstimateKind {
  const { left, right } = splitCheck(check);
  const constant = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?%?$/.test(right);
  const term = (s: string) =>
    /^P\s*\(/.test(s) ? "P" : /^E\s*\(/.test(s) ? "E" : /^Q\d*\s*\(/.test(s) ? "Q" : "";
  if (constant) return term(left) === "P" ? "probability" : term(left) === "Q" ? "quantile" : "mean";
  return term(left) === "P" && term(right) === "P" ? "difference of probabilities" : "difference";
}

/**
 * A claim's margin (left − right) turned toward the claim: positive when it is on the claim's side whatever the
 * comparison (< or >), so every table reads the same way. Margins within rounding noise of zero (−5.3e-18: two
 * equal sums computed in different orders) are a tie, not a verdict.
 */
export function towardClaim(
  check: string,
  margin: number,
): { toward: number; side: "holds" | "fails" | "tie" } {
  const { op } = splitCheck(check);
  const toward = op.startsWith("<") ? -margin : margin;
  if (!Number.isFinite(toward) || Math.abs(toward) < 1e-12) return { toward: 0, side: "tie" };
  return { toward, side: toward > 0 ? "holds" : "fails" };
}

/** A claim's estimate (or interval end) written for its kind. */
export function estimateText(kind: EstimateKind, x: number | null, scale?: number): string {
  if (kind === "probability") return percent(x);
  if (kind === "difference of probabilities") return points(x);
  if (kind === "difference") return signedQuantity(x, scale);
  return quantity(x, scale);
}

/** A sentence under the claims: what the estimate column holds, and what the interval and verdict mean. */
export const CLAIMS_EXPLAINED =
  "The estimate is the claim's left side when its right side is a number (a probability, or a mean or quantile of a tracked value), " +
  "else the difference left − right (in percentage points for probabilities). The 95% interval is the range that would cover the true value " +
  "in 95 of 100 repetitions of this job; a verdict is holds or fails only when the whole interval is on one side of the claim's line, else undecided. " +
  "Claims naming another scenario compare the same runs under both (paired), so the noise both share cancels.";
