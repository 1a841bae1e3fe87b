import type { Verb } from "./shared.js";

export const schema: Verb = {
  name: "schema",
  register(program, { io }) {
    program
      .command("schema")
      .description("print the JSON Schema of model files, for editors")
      .action(async () => {
        const { modelFileJsonSchema } = await import("../../model/schema.js");
        io.out(`${JSON.stringify(modelFileJsonSchema(), null, 2)}\n`);
      });
  },
};
