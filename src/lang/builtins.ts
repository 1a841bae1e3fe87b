/**
 * Names that read the clock rather than the model's state; reserved in every model. The functions an equation
 * may call are in the builtin registry, src/compile/builtins.ts (beside their implementations and lowerings).
 */
export const TIME_NAMES = new Set(["time", "dt", "starttime", "stoptime"]);
