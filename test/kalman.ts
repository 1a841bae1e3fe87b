import { logNormal } from "../src/analysis/calibrate/likelihood.js";

/**
 * The exact log-likelihood of an AR(1) state seen with noise, by the Kalman filter — the oracle the particle
 * filter's tests check against: x₀ = 0, x_k = φ·x_{k−1} + q·w_k, y_k = x_k + r·v_k, with w and v standard normal.
 */
export function kalmanLogLik(phi: number, q: number, r: number, ys: readonly number[]): number {
  let m = 0;
  let P = 0;
  let ll = 0;
  for (const y of ys) {
    m = phi * m;
    P = phi * phi * P + q * q;
    const S = P + r * r;
    ll += logNormal(y, m, Math.sqrt(S));
    const K = P / S;
    m += K * (y - m);
    P *= 1 - K;
  }
  return ll;
}

/**
 * The Brink model of that AR(1) over `steps` unit steps, φ uniform on [0, 0.95], its measurement sd a
 * fixed param `measurement_sd` = r, observed as `y` from y.csv (columns t, value).
 */
export const ar1Model = (steps: number, q: number, r: number) => `brink: 1
name: ar1
time: { start: 0, stop: ${steps}, dt: 1 }
params:
  phi: { dist: "uniform(0, 0.95)" }
  measurement_sd: ${r}
stocks:
  x: { init: 0, inflows: [move] }
flows:
  move: { eq: "(phi - 1) * x + ${q} * normal(0, 1)" }
observations:
  y: { variable: x, file: y.csv, time: t, noise: normal, sd: measurement_sd }
`;

/** Data from that AR(1) with φ = 0.7 at t = 1…steps, drawn with `gauss(stream, k)` (independent of Brink's). */
export function ar1Rows(
  steps: number,
  q: number,
  r: number,
  gauss: (stream: number, k: number) => number,
): { t: number; y: number }[] {
  const rows: { t: number; y: number }[] = [];
  let x = 0;
  for (let k = 1; k <= steps; k++) {
    x = 0.7 * x + q * gauss(1, k);
    rows.push({ t: k, y: x + r * gauss(2, k) });
  }
  return rows;
}
