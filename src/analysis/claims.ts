/** Claims: compiled from their text (claims-compile.ts) and evaluated against runs (claims-evaluate.ts). */
export * from "./claims-compile.js";
export * from "./claims-evaluate.js";
