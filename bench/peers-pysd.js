// One run of an XMILE model in Brink against PySD, as whole processes, paired and alternating (so load on the
// machine hits each alike), medians of wall-clock and CPU time. Brink: `brink run FILE --runs 1` (the base model
// has nothing uncertain: one deterministic run). PySD: `python3 -c` that calls pysd.read_xmile(FILE) and runs the
// model once, translation included as a user pays it; and, for reference, pysd.load() of the model translated
// beforehand. Both print the same variables at the last save, and those values are checked to agree.
// Floor: Brink faster than PySD's read_xmile + run (ratio > 1). PySD is Python, not npm: it is found with
// `python3 -c "import pysd"` (`pip install pysd`), or BRINK_BENCH_PYTHON names the interpreter and
// BRINK_BENCH_PYSD_PATH a directory to put on its PYTHONPATH; without it the rows print "not measured" and the
// bench passes. Part of `npm run bench` (after `npm run build`); `node bench/peers-pysd.js` alone also works.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..");
const BRINK = join(ROOT, "bin", "brink.js");
const PYTHON = process.env.BRINK_BENCH_PYTHON ?? "python3";
const ROUNDS = Number(process.env.BRINK_BENCH_PYSD_ROUNDS ?? 7);
const FLOOR = 1;
// Relative agreement asked of the two engines' values at the last save (the suite's tolerance is ~1e-5).
const AGREE = 1e-6;

const MODELS = [
  {
    name: "SIR, 3,200 Euler steps (bench/peers/sir.xmile)",
    file: join(HERE, "peers", "sir.xmile"),
  },
  {
    name: "teacup, 240 steps (test-models samples/teacup)",
    file: join(ROOT, "..", "shared", "test-models", "samples", "teacup", "teacup.xmile"),
  },
];

const pythonEnv = () => {
  const extra = process.env.BRINK_BENCH_PYSD_PATH;
  if (!extra) return process.env;
  const path = process.env.PYTHONPATH;
  return { ...process.env, PYTHONPATH: path ? `${extra}${delimiter}${path}` : extra };
};

/** The version of PySD the interpreter imports, or null when it imports none. */
function pysdVersion() {
  const r = spawnSync(PYTHON, ["-c", "import pysd; print(pysd.__version__)"], {
    encoding: "utf8",
    env: pythonEnv(),
  });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** CPU time of every thread of the Python process, reported at exit the way bench/cpu-at-exit.js does for Node. */
const PY_USAGE =
  "import atexit, json, resource, sys\n" +
  "def _usage():\n" +
  "    r = resource.getrusage(resource.RUSAGE_SELF)\n" +
  "    sys.stderr.write('\\nBENCH_USAGE ' + json.dumps({'cpuSeconds': r.ru_utime + r.ru_stime}) + '\\n')\n" +
  "atexit.register(_usage)\n";

/** `python3 -c` that loads the model with `call` (read_xmile or load), runs it once and prints the last save. */
function pysdScript(call, file, variables) {
  return (
    `${PY_USAGE}import pysd\n` +
    `model = pysd.${call}(${JSON.stringify(file)})\n` +
    `out = model.run(return_columns=${JSON.stringify(variables)})\n` +
    "print(json.dumps({k: float(v) for k, v in out.iloc[-1].items()}))\n"
  );
}

function timeProcess(command, args, env) {
  const started = performance.now();
  const r = spawnSync(command, args, { cwd: ROOT, encoding: "utf8", env, maxBuffer: 64 * 2 ** 20 });
  const ms = performance.now() - started;
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  const usage = r.stderr.split("\n").findLast((l) => l.startsWith("BENCH_USAGE "));
  return { ms, cpu: JSON.parse(usage.slice("BENCH_USAGE ".length)).cpuSeconds, stdout: r.stdout };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Brink's values of every tracked variable at the last save of one run (its --json report). */
function brinkLastSave(file) {
  const r = spawnSync(process.execPath, [BRINK, "run", file, "--runs", "1", "--json"], {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 256 * 2 ** 20,
  });
  if (r.status !== 0) throw new Error(`brink run ${file} --json exited ${r.status}: ${r.stderr}`);
  const tracked = JSON.parse(r.stdout).tracked;
  return Object.fromEntries(Object.entries(tracked).map(([name, saves]) => [name, saves.at(-1).q50]));
}

/** PySD names its columns as the model does ("Teacup Temperature"), Brink as identifiers (teacup_temperature). */
const canonical = (name) =>
  name
    .trim()
    .toLowerCase()
    .replace(/[\s_]+/g, "_");

function disagreements(brink, pysdByName) {
  const pysd = Object.fromEntries(Object.entries(pysdByName).map(([name, v]) => [canonical(name), v]));
  return Object.entries(brink).flatMap(([name, b]) => {
    const p = pysd[canonical(name)];
    const close = typeof p === "number" && Math.abs(p - b) <= AGREE * Math.max(Math.abs(b), 1e-12);
    return close ? [] : [`${name}: Brink ${b}, PySD ${p}`];
  });
}

function benchModel(model, dir) {
  // PySD writes the translated Python beside the model: each row works on its own copy, outside the repository.
  const translateDir = join(dir, "translate");
  const loadDir = join(dir, "load");
  for (const d of [translateDir, loadDir]) mkdirSync(d, { recursive: true });
  const xmileToTranslate = join(translateDir, basename(model.file));
  const xmileToLoad = join(loadDir, basename(model.file));
  copyFileSync(model.file, xmileToTranslate);
  copyFileSync(model.file, xmileToLoad);

  const expected = brinkLastSave(model.file);
  const variables = Object.keys(expected);
  const env = pythonEnv();
  // Translated once here; the load row then times pysd.load of that file.
  const translated = spawnSync(
    PYTHON,
    ["-c", `import pysd; pysd.read_xmile(${JSON.stringify(xmileToLoad)})`],
    {
      encoding: "utf8",
      env,
    },
  );
  const pyFile = xmileToLoad.replace(/\.xmile$/, ".py");
  if (translated.status !== 0 || !existsSync(pyFile))
    throw new Error(`PySD could not translate ${model.file} to ${pyFile}: ${translated.stderr}`);

  const commands = [
    {
      name: "brink run FILE --runs 1",
      run: () =>
        timeProcess(process.execPath, [
          "--import",
          join(HERE, "cpu-at-exit.js"),
          ...[BRINK, "run", model.file, "--runs", "1"],
        ]),
    },
    {
      name: "PySD: read_xmile(FILE) + run",
      run: () => timeProcess(PYTHON, ["-c", pysdScript("read_xmile", xmileToTranslate, variables)], env),
    },
    {
      name: "PySD: load(translated .py) + run",
      run: () => timeProcess(PYTHON, ["-c", pysdScript("load", pyFile, variables)], env),
    },
  ];
  const times = commands.map(() => ({ ms: [], cpu: [] }));
  const outputs = commands.map((c) => c.run()); // warm the file cache; keep each one's output
  for (let round = 0; round < ROUNDS; round++)
    commands.forEach((c, i) => {
      const t = c.run();
      times[i].ms.push(t.ms);
      times[i].cpu.push(t.cpu);
    });

  const problems = [];
  for (const i of [1, 2]) {
    const differ = disagreements(expected, JSON.parse(outputs[i].stdout.trim().split("\n").at(-1)));
    if (differ.length)
      problems.push(`${model.name}, ${commands[i].name}: values differ (${differ.join("; ")})`);
  }
  const brinkMs = median(times[0].ms);
  console.log(`\n${model.name}: one run, whole process (median of ${ROUNDS} alternating rounds)\n`);
  console.log("command                               wall ms   CPU ms   Brink's speed-up, wall (CPU)");
  commands.forEach((c, i) => {
    const ms = median(times[i].ms);
    const cpu = median(times[i].cpu) * 1000;
    const speedUp =
      i === 0 ? "" : `${(ms / brinkMs).toFixed(2)}× (${(cpu / (median(times[0].cpu) * 1000)).toFixed(2)}×)`;
    const floor = i === 1 ? `  floor > ${FLOOR}×` : i === 2 ? "  no floor" : "";
    console.log(
      `${c.name.padEnd(36)} ${ms.toFixed(0).padStart(8)} ${cpu.toFixed(0).padStart(8)}   ${speedUp}${floor}`,
    );
  });
  console.log(
    `(values of the ${variables.length} variables at the last save: ${problems.length ? "DIFFER" : `agree within ${AGREE} relative`})`,
  );
  const ratio = median(times[1].ms) / brinkMs;
  if (!(ratio > FLOOR))
    problems.push(`${model.name}: Brink ${ratio.toFixed(2)}× PySD's speed (floor > ${FLOOR}×)`);
  return problems;
}

const version = pysdVersion();
if (!version) {
  console.log(
    `\nOne run of an XMILE model, Brink against PySD: not measured: PySD not importable (\`${PYTHON} -c "import pysd"\` fails; \`pip install pysd\`, or set BRINK_BENCH_PYSD_PATH to its directory)`,
  );
} else {
  console.log(`\nPySD ${version} (${PYTHON})`);
  const dir = mkdtempSync(join(tmpdir(), "brink-pysd-"));
  const missed = [];
  try {
    for (const model of MODELS) {
      if (!existsSync(model.file)) {
        console.log(`\n${model.name}: skipped, ${model.file} is absent`);
        continue;
      }
      missed.push(...benchModel(model, join(dir, String(MODELS.indexOf(model)))));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (missed.length) {
    console.error(`bench: FAILED PySD comparison (floor or agreement): ${missed.join("; ")}`);
    process.exitCode = 1;
  }
}
