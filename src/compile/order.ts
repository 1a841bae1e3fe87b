import { DiagnosticError } from "../lang/diagnostic.js";
import type { ModelSource } from "../model/source.js";
import { type Assignment, type SlotInfo, slotsRead } from "./ir.js";

/**
 * Order assignments so that each comes after every assignment whose slot it reads. `roots` are always
 * included; an assignment from `pool` only when something included reads it. A loop is an error naming it.
 */
export function orderAssignments(
  roots: Assignment[],
  pool: Assignment[],
  slots: SlotInfo[],
  source: ModelSource,
  what: "definition" | "initial value",
): Assignment[] {
  const bySlot = new Map<number, Assignment>();
  for (const a of pool) bySlot.set(a.slot, a);
  for (const a of roots) bySlot.set(a.slot, a);
  const reads = new Map<number, number[]>();
  const depsOf = (a: Assignment): number[] => {
    let d = reads.get(a.slot);
    if (!d) {
      // An init(x) capture reads its own slot on later steps; that is not a dependency.
      const capture = a.expr.op === "if" && a.expr.c.op === "first";
      d = [...slotsRead(a.expr)].filter((s) => (s !== a.slot || !capture) && bySlot.has(s));
      reads.set(a.slot, d);
    }
    return d;
  };

  const state = new Map<number, 1 | 2>(); // 1: on the DFS path, 2: done
  const order: Assignment[] = [];
  for (const root of roots) {
    if (state.has(root.slot)) continue;
    // Iterative DFS, so a long chain of definitions cannot overflow the call stack.
    const stack: { slot: number; next: number }[] = [{ slot: root.slot, next: 0 }];
    state.set(root.slot, 1);
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const deps = depsOf(bySlot.get(top.slot)!);
      if (top.next < deps.length) {
        const dep = deps[top.next++]!;
        const s = state.get(dep);
        if (s === 2) continue;
        if (s === 1) {
          const from = stack.findIndex((f) => f.slot === dep);
          const loop = [...stack.slice(from).map((f) => f.slot), dep];
          throw new DiagnosticError([cycleDiagnostic(loop, slots, source, what)]);
        }
        state.set(dep, 1);
        stack.push({ slot: dep, next: 0 });
      } else {
        state.set(top.slot, 2);
        order.push(bySlot.get(top.slot)!);
        stack.pop();
      }
    }
  }
  return order;
}

function cycleDiagnostic(loop: number[], slots: SlotInfo[], source: ModelSource, what: string) {
  // Name the loop by the user's names; hidden slots (inside a smooth, say) show where they came from.
  const names = loop.map((s) => slots[s]!.name);
  const first = slots[loop.find((s) => slots[s]!.kind !== "hidden") ?? loop[0]!]!;
  const fix =
    what === "definition"
      ? "break it with a stock, smth1(…), delay1(…) or previous(…)"
      : "give one of these stocks a constant initial value";
  return source.at(first.path, `circular ${what}: ${names.join(" → ")} — ${fix}`);
}
