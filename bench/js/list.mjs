// The minimal JavaScript equivalent of `scheduler --list` (bench case 1): read package.json,
// print one line per job with its schedule, description and next run time (croner).
// Usage: node list.mjs <workspace-dir>
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Cron } from "croner";

const root = process.argv[2] ?? process.cwd();
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const jobs = pkg.webstir?.moduleManifest?.jobs ?? [];
if (jobs.length === 0) {
  console.log("[jobs] no jobs registered in webstir.moduleManifest.jobs");
  process.exit(0);
}
const now = new Date();
const lines = [];
for (const job of jobs) {
  const schedules = job.schedule === undefined ? [] : [].concat(job.schedule);
  let line = `- ${job.name} (${schedules.length ? schedules.join(", ") : "manual"})`;
  if (job.description) line += ` — ${job.description}`;
  const next = [];
  for (const s of schedules) {
    if (s.startsWith("rate(") || s === "@reboot") continue;
    const run = new Cron(s, { timezone: job.timezone, paused: true }).nextRun(now);
    if (run) next.push(run.toISOString());
  }
  if (next.length) line += ` (next: ${next.join(", ")})`;
  lines.push(line);
}
process.stdout.write(lines.join("\n") + "\n");
