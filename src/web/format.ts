/** How the page writes numbers: probabilities as percentages with one decimal. */
export const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export { escapeHtml } from "../report/html.js";
