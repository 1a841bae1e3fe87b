#!/usr/bin/env node
// Derive the series models/flagship/front.yaml observes from the shared datasets (../shared/data or $BRINK_DATA)
// into models/flagship/data/ (not committed: 4-weekly differences of losses and area, monthly aid as an index).
// Usage: node scripts/flagship-data.js   (after npm run build)
import { FRONT_DATA, writeFrontData } from "../dist/node/flagship.js";

if (!writeFrontData()) {
  console.error("the shared datasets are absent (set BRINK_DATA)");
  process.exit(1);
}
console.log(`wrote ${FRONT_DATA}`);
