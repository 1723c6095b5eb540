// The minimal JavaScript equivalent of `webstir add-job NAME --schedule S` (bench case 2):
// read package.json, append the job, write it atomically (temp file + rename) and create the
// job's source stub. It reformats package.json with JSON.stringify, which webstir must not do.
// Usage: node add_job.mjs <workspace-dir> <name> <schedule>
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [root, name, schedule] = process.argv.slice(2);
const path = join(root, "package.json");
const pkg = JSON.parse(readFileSync(path, "utf8"));
const manifest = (pkg.webstir ??= {}).moduleManifest ??= {};
const jobs = (manifest.jobs ??= []);
if (jobs.some((job) => job.name === name)) {
  console.error(`Job '${name}' already exists.`);
  process.exit(1);
}
jobs.push(schedule ? { name, schedule } : { name });
const dir = join(root, "src", "backend", "jobs", name);
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, "index.ts"), `export async function run(): Promise<void> {\n  console.info('[job:${name}] ran at', new Date().toISOString());\n}\n`, { flag: "wx" });
const tmp = `${path}.${process.pid}.tmp`;
writeFileSync(tmp, JSON.stringify(pkg, null, 2) + "\n");
renameSync(tmp, path);
console.log(`Added job '${name}'.`);
