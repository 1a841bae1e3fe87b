import { logGamma } from "../../compile/functions.js";
import type { Noise, NoiseParam } from "./observations.js";

/**
 * Log densities of the measurement models: log p(y | x, noise params), where x is the model's value. A value
 * the model cannot produce under the noise model (x ≤ 0 for lognormal, x < 0 for negative binomial) gives −∞.
 */

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

export function logNormal(y: number, mean: number, sd: number): number {
  const z = (y - mean) / sd;
  return -0.5 * z * z - Math.log(sd) - LOG_SQRT_2PI;
}

/** log y ~ N(log x, sd²): the density of y, Jacobian 1/y included. */
export function logLognormal(y: number, x: number, sd: number): number {
  if (!(x > 0)) return Number.NEGATIVE_INFINITY;
  return logNormal(Math.log(y), Math.log(x), sd) - Math.log(y);
}

/** y = x + scale·T with T Student-t with df degrees of freedom. */
export function logStudentT(y: number, x: number, scale: number, df: number): number {
  const z = (y - x) / scale;
  return (
    logGamma((df + 1) / 2) -
    logGamma(df / 2) -
    0.5 * Math.log(df * Math.PI) -
    Math.log(scale) -
    ((df + 1) / 2) * Math.log1p((z * z) / df)
  );
}

/** Negative binomial with mean x and dispersion k: variance x + x²/k. */
export function logNegativeBinomial(y: number, x: number, k: number): number {
  if (!(x >= 0)) return Number.NEGATIVE_INFINITY;
  if (x === 0) return y === 0 ? 0 : Number.NEGATIVE_INFINITY;
  return (
    logGamma(y + k) - logGamma(k) - logGamma(y + 1) + k * Math.log(k / (k + x)) + y * Math.log(x / (k + x))
  );
}

/** The measurement model's log density, its noise params read through `value`. */
export function logMeasurement(noise: Noise, y: number, x: number, value: (p: NoiseParam) => number): number {
  switch (noise.kind) {
    case "normal":
      return logNormal(y, x, value(noise.sd));
    case "lognormal":
      return logLognormal(y, x, value(noise.sd));
    case "student_t":
      return logStudentT(y, x, value(noise.scale), value(noise.df));
    case "negative_binomial":
      return logNegativeBinomial(y, x, value(noise.dispersion));
    case "none":
      // No measurement model: the entry weighs nothing in a particle filter (ABC-SMC fits it by distance).
      return 0;
  }
}
