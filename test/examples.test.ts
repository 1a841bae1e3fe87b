import { describe, expect, it } from "vitest";
import { example, prepareFile, report, series } from "./helpers.js";

describe("teacup", () => {
  const model = prepareFile(example("teacup.yaml"));

  it("matches a hand-computed Euler series at every step", () => {
    const { series: s, end } = series(model);
    expect(end.outcome).toBe(-1);
    expect(s.teacup_temperature).toHaveLength(241);
    let temp = 180;
    for (let k = 0; k <= 240; k++) {
      const loss = (temp - 70) / 10;
      expect(s.teacup_temperature![k]).toBeCloseTo(temp, 12);
      expect(s.heat_loss![k]).toBeCloseTo(loss, 12);
      expect(s.gap![k]).toBeCloseTo(temp - 70, 12);
      temp = temp - 0.125 * loss;
    }
  });

  it("approaches the closed form as Newton's law predicts", () => {
    const { series: s } = series(model);
    // Euler with dt = 0.125 tracks 70 + 110·exp(−t/10) to within a few tenths of a degree.
    for (let k = 0; k <= 240; k += 40) {
      expect(Math.abs(s.teacup_temperature![k]! - (70 + 110 * Math.exp(-(k * 0.125) / 10)))).toBeLessThan(
        0.4,
      );
    }
  });
});

describe("SIR", () => {
  const model = prepareFile(example("sir.yaml"));

  it("matches a hand-computed Euler series (saved daily, four steps a day), including the stock floors", () => {
    const { series: s, end } = series(model);
    let S = 999;
    let I = 1;
    let R = 0;
    const dt = 0.25;
    let k = 0;
    for (; ; k++) {
      if (k % 4 === 0) {
        const d = k / 4;
        expect(s.susceptible![d]).toBeCloseTo(S, 9);
        expect(s.infected![d]).toBeCloseTo(I, 9);
        expect(s.recovered![d]).toBeCloseTo(R, 9);
        expect(s.reproduction_number![d]).toBeCloseTo((0.3 * 10 * S) / 1000, 9);
      }
      // The run ends with the outcome, at the first step where fewer than half a person is infected.
      if (I < 0.5 && k * dt > 1) break;
      const infection = (0.3 * S * I) / 1000;
      const recovery = I / 10;
      S = Math.max(0, S - dt * infection);
      I = Math.max(0, I + dt * (infection - recovery));
      R = R + dt * recovery;
    }
    expect(end.outcome).toBe(0);
    expect(end.time).toBe(k * dt);
    expect(end.saves).toBe(Math.floor(k / 4) + 1);
  });

  it("conserves the population", () => {
    const { series: s } = series(model);
    s.susceptible!.forEach((x, k) => expect(x + s.infected![k]! + s.recovered![k]!).toBeCloseTo(1000, 8));
  });

  it("the uncertain scenario varies between runs, and is reproducible for a seed", () => {
    const uncertain = prepareFile(example("sir.yaml"), "uncertain");
    const a = series(uncertain, 0).series.recovered!;
    const b = series(uncertain, 1).series.recovered!;
    expect(a[40]).not.toBe(b[40]);
    expect(series(uncertain, 0).series.recovered).toEqual(a);
  });
});

/**
 * Exact win probability of the duel as the engine discretises it: per step, blue hits with probability
 * 1 − exp(−b·m·dt) and red with 1 − exp(−r·n·dt), independently; both may hit in the same step; when both
 * sides reach zero together, the first outcome in the file (blue_wins) is recorded.
 */
function exactBlueWin(m0: number, n0: number, b: number, r: number, dt: number): number {
  const P: number[][] = [];
  for (let m = 0; m <= m0; m++) {
    P[m] = [];
    for (let n = 0; n <= n0; n++) {
      if (n === 0) P[m]![n] = 1;
      else if (m === 0) P[m]![n] = 0;
      else {
        const p1 = 1 - Math.exp(-b * m * dt);
        const p2 = 1 - Math.exp(-r * n * dt);
        const move = 1 - (1 - p1) * (1 - p2);
        P[m]![n] =
          (p1 * (1 - p2) * P[m]![n - 1]! + (1 - p1) * p2 * P[m - 1]![n]! + p1 * p2 * P[m - 1]![n - 1]!) /
          move;
      }
    }
  }
  return P[m0]![n0]!;
}

describe("stochastic Lanchester duel", () => {
  const model = prepareFile(example("lanchester-duel.yaml"));

  it("wins as often as the exact Markov-chain value, within the 99.9% band", () => {
    const runs = 20_000;
    const r = report(model, runs, 7);
    const exact = exactBlueWin(3, 4, 0.5, 0.4, 0.01);
    const p = r.outcomes.blue_wins!.p;
    const sd = Math.sqrt((exact * (1 - exact)) / runs);
    expect(Math.abs(p - exact)).toBeLessThan(3.3 * sd);
    expect(r.censored.count).toBe(0);
    expect(r.outcomes.blue_wins!.count + r.outcomes.red_wins!.count).toBe(runs);
  });

  it("the discretised chain is close to the continuous-time duel", () => {
    // Continuous-time limit: the same recursion with event probabilities b·m/(b·m + r·n).
    const ctmc = (m: number, n: number): number =>
      n === 0 ? 1 : m === 0 ? 0 : (0.5 * m * ctmc(m, n - 1) + 0.4 * n * ctmc(m - 1, n)) / (0.5 * m + 0.4 * n);
    expect(Math.abs(exactBlueWin(3, 4, 0.5, 0.4, 0.01) - ctmc(3, 4))).toBeLessThan(0.005);
  });
});

describe("war of attrition (events and competing outcomes)", () => {
  const model = prepareFile(example("war-of-attrition.yaml"));

  it("every run ends in exactly one end state, and the mobilisation event fires once", () => {
    const r = report(model, 300, 3);
    const total = Object.values(r.outcomes).reduce((s, o) => s + o.count, 0) + r.censored.count;
    expect(total).toBe(300);
    expect(Object.keys(r.outcomes)).toEqual(["attacker_breaks", "defender_breaks", "negotiated_ceasefire"]);
    const { series: s } = series(model, 0, 3);
    const reserves = s.attacker_reserves!;
    const jumps = reserves.filter((x, k) => k > 0 && x > reserves[k - 1]! + 1).length;
    expect(jumps).toBeLessThanOrEqual(1);
  });

  it("the same seed gives the same report; another seed does not", () => {
    expect(report(model, 200, 11)).toEqual(report(model, 200, 11));
    expect(report(model, 200, 11)).not.toEqual(report(model, 200, 12));
  });
});
