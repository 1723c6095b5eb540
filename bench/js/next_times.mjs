// Next-times per second of a JavaScript cron library, in-process (bench case 3).
// Usage: node next_times.mjs <croner|node-cron> <seconds> <tz|-> <expr>...
// `-` gives the library no time zone (it then works in the process zone; bench/run sets TZ=UTC).
// Prints one JSON line per expression: {"lib","expr","tz","per_second","count"}.
// Each expression is a chain: next = after(previous), restarting from the start instant when a
// library returns nothing, the same loop examples/next_times.rs runs for webstir.
import { Cron } from "croner";
import cron from "node-cron";

const START = new Date("2026-01-01T00:00:00Z");
const [lib, secondsArg, tzArg, ...exprs] = process.argv.slice(2);
const seconds = Number(secondsArg);
const tz = tzArg === "-" ? undefined : tzArg;

function nextFunction(expr) {
  if (lib === "croner") {
    const job = new Cron(expr, tz ? { timezone: tz, paused: true } : { paused: true });
    return (d) => job.nextRun(d);
  }
  if (lib === "node-cron") {
    const task = cron.createTask(expr, () => {}, tz ? { timezone: tz } : {});
    // node-cron only exposes chains that start at "now"; its matcher is what they call.
    return (d) => task.timeMatcher.getNextMatch(d);
  }
  throw new Error(`unknown library ${lib} (expected croner or node-cron)`);
}

for (const expr of exprs) {
  const next = nextFunction(expr);
  // Warm-up so the JIT has compiled the hot path before the timed loop.
  let t = START;
  for (let i = 0; i < 2000; i++) t = next(t) ?? START;
  t = START;
  let count = 0;
  let sink = 0;
  const began = performance.now();
  const budget = seconds * 1000;
  let elapsed = 0;
  while (elapsed < budget) {
    for (let i = 0; i < 256; i++) {
      t = next(t) ?? START;
      sink ^= t.getTime() & 1;
    }
    count += 256;
    elapsed = performance.now() - began;
  }
  const per_second = count / (elapsed / 1000);
  console.log(JSON.stringify({ lib, expr, tz: tz ?? "-", per_second, count, sink }));
}
