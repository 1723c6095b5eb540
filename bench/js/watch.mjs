// The minimal JavaScript equivalent of `scheduler --watch` (bench cases 4 and 5): hold every
// job's schedules and run each job when due. `rate(...)` runs at start and then on a drift-free
// grid (start + k × interval); cron expressions and macros use croner in the job's time zone;
// `@reboot` runs once. A job still running when due again is skipped, as webstir does.
// Jobs run in-process (import the module, await run()) or, with `--spawn RUNTIME`, each run in a
// new RUNTIME process (runner.mjs), which is what webstir does with Node. Each run sees its due
// time in WEBSTIR_FIRE_TIME, as under webstir (in-process: set just before run() is called).
// Usage: node watch.mjs <workspace-dir> [--spawn <runtime>]
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Cron } from "croner";

const args = process.argv.slice(2);
const root = args[0] ?? process.cwd();
const spawnIndex = args.indexOf("--spawn");
const spawnRuntime = spawnIndex >= 0 ? args[spawnIndex + 1] : undefined;
const runner = join(dirname(fileURLToPath(import.meta.url)), "runner.mjs");

const UNITS = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const jobs = pkg.webstir?.moduleManifest?.jobs ?? [];

const running = new Set();
const modules = new Map();
const timers = new Set();
const crons = [];

function modulePath(name) {
  return join(root, "build", "backend", "jobs", name, "index.js");
}

async function runInProcess(name, due) {
  let mod = modules.get(name);
  if (!mod) {
    mod = await import(pathToFileURL(modulePath(name)).href);
    modules.set(name, mod);
  }
  // run() reads it synchronously when it starts, before any other fire can set it again.
  process.env.WEBSTIR_FIRE_TIME = new Date(due).toISOString();
  await (mod.run ?? mod.default)();
}

function runInChild(name, due) {
  return new Promise((resolve, reject) => {
    const child = spawn(spawnRuntime, [runner, modulePath(name)], {
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, WEBSTIR_JOB: name, WEBSTIR_FIRE_TIME: new Date(due).toISOString() },
    });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}`))));
  });
}

async function fire(name, due) {
  if (running.has(name)) {
    console.error(`[jobs] skipping ${name}; previous run is still active (overlap policy: skip)`);
    return;
  }
  running.add(name);
  const began = performance.now();
  console.log(`[jobs] running ${name}`);
  try {
    await (spawnRuntime ? runInChild(name, due) : runInProcess(name, due));
    console.log(`[jobs] ${name} completed in ${Math.round(performance.now() - began)}ms`);
  } catch (error) {
    console.error(`[jobs] ${name} failed: ${error.message}`);
  } finally {
    running.delete(name);
  }
}

function every(name, intervalMs, start) {
  let k = 0;
  const tick = () => {
    timers.delete(handle);
    fire(name, start + k * intervalMs);
    k += 1;
    handle = setTimeout(tick, Math.max(0, start + k * intervalMs - Date.now()));
    timers.add(handle);
  };
  let handle = setTimeout(tick, 0);
  timers.add(handle);
}

const start = Date.now();
for (const job of jobs) {
  for (const schedule of job.schedule === undefined ? [] : [].concat(job.schedule)) {
    const rate = /^rate\(\s*(\d+)\s+(second|minute|hour|day)s?\s*\)$/i.exec(schedule);
    if (rate) {
      every(job.name, Number(rate[1]) * UNITS[rate[2].toLowerCase()], start);
    } else if (schedule.toLowerCase() === "@reboot") {
      fire(job.name, Date.now());
    } else {
      // croner's callback does not say which due time fired: keep the one it will fire next.
      let due;
      const cron = new Cron(schedule, { timezone: job.timezone }, () => {
        const fired = due ?? Date.now();
        due = cron.nextRun()?.getTime();
        fire(job.name, fired);
      });
      due = cron.nextRun()?.getTime();
      crons.push(cron);
    }
  }
}
console.log(`[jobs] watching jobs: ${jobs.map((job) => job.name).join(", ")}`);

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    for (const handle of timers) clearTimeout(handle);
    for (const job of crons) job.stop();
    console.log(`[jobs] received ${signal}; stopped ${timers.size + crons.length} scheduled job timer(s).`);
    process.exit(0);
  });
}
