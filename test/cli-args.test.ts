import { InvalidArgumentError } from "commander";
import { describe, expect, it } from "vitest";
import { wholeNumber } from "../src/node/verbs/shared.js";

describe("whole-number arguments", () => {
  const runs = wholeNumber("--runs", 1, 1e9);

  it("reads digits, powers of ten and thousands separators", () => {
    expect(runs("1000")).toBe(1000);
    expect(runs("1e9")).toBe(1e9);
    expect(runs("25E4")).toBe(250_000);
    expect(runs("1_000_000")).toBe(1_000_000);
  });

  it("refuses fractions, signs, hex, out-of-range values and malformed separators, naming the option", () => {
    for (const bad of ["1.5", "-3", "+3", "0x10", "1e", "e6", "2e9", "0", "1_00", "_100", "1e400", " 5", ""])
      expect(() => runs(bad), bad).toThrow(InvalidArgumentError);
    expect(() => runs("2e9")).toThrow(/--runs must be a whole number from 1 to 1,000,000,000/);
  });
});
