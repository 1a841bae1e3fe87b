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
