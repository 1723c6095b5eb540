// Bree (npm `bree`), Node's file-per-job scheduler, as a peer of `scheduler --watch` (bench
// case 5): every job of the workspace becomes a Bree job whose file is bree_job.mjs, which
// imports the job's built module in a new worker thread and awaits run(), one thread per run
// (Bree's model). `rate(N unit)` becomes Bree's `interval` (a setInterval started with Bree),
// the six-field every-second cron `* * * * * *` becomes `cron` with `hasSeconds`.
// Like webstir, each run sees its due time in WEBSTIR_FIRE_TIME: Bree does not expose it, so
// it is taken when Bree's timer calls createWorker: for an interval the latest point of the
// grid start + k × interval, for the cron the latest whole second (20 ms of tolerance for a
// timer that fires early). A run that Bree skips because the previous one still runs is printed
// as `[jobs] skipping`; each worker start as `[jobs] running <job>`.
// Usage: node bree.mjs <workspace-dir>
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Bree from "bree";

const root = process.argv[2] ?? process.cwd();
const jobFile = join(dirname(fileURLToPath(import.meta.url)), "bree_job.mjs");
const UNITS = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const EARLY = 20;

const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const manifest = pkg.webstir?.moduleManifest?.jobs ?? [];
const due = new Map();
let start = Date.now();

const jobs = manifest.map((job) => {
  const schedules = job.schedule === undefined ? [] : [].concat(job.schedule);
  if (schedules.length !== 1) {
    throw new Error(`bree.mjs: job ${job.name} needs exactly one schedule`);
  }
  const [schedule] = schedules;
  const worker = { workerData: { module: join(root, "build", "backend", "jobs", job.name, "index.js") } };
  const rate = /^rate\(\s*(\d+)\s+(second|minute|hour|day)s?\s*\)$/i.exec(schedule);
  if (rate) {
    const interval = Number(rate[1]) * UNITS[rate[2].toLowerCase()];
    due.set(job.name, () => start + Math.floor((Date.now() - start + EARLY) / interval) * interval);
    return { name: job.name, path: jobFile, interval, worker };
  }
  if (schedule.trim() === "* * * * * *") {
    due.set(job.name, () => Math.floor((Date.now() + EARLY) / 1000) * 1000);
    return { name: job.name, path: jobFile, cron: schedule, hasSeconds: true, worker };
  }
  throw new Error(`bree.mjs: ${job.name}: only rate(...) and \`* * * * * *\` are supported, not \`${schedule}\``);
});

class BenchBree extends Bree {
  createWorker(filename, options) {
    const name = options.workerData.job.name;
    const fireTime = new Date(due.get(name)()).toISOString();
    console.log(`[jobs] running ${name}`);
    const env = { ...process.env, WEBSTIR_JOB: name, WEBSTIR_FIRE_TIME: fireTime };
    return super.createWorker(filename, { ...options, env });
  }
}

const quiet = () => {};
const bree = new BenchBree({
  root: false,
  jobs,
  logger: {
    info: quiet,
    warn: (error) => {
      const name = /Job "(.+)" is already running/.exec(String(error?.message ?? error))?.[1];
      if (name) console.log(`[jobs] skipping ${name}; previous run is still active`);
      else console.error("[bree]", String(error?.message ?? error));
    },
    error: (...args) => console.error("[bree]", ...args.map((a) => String(a?.message ?? a))),
  },
});

await bree.init();
start = Date.now();
await bree.start();
console.log(`[jobs] watching jobs: ${jobs.map((job) => job.name).join(", ")}`);

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    console.log(`[jobs] received ${signal}`);
    process.exit(0);
  });
}
