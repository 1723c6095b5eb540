// Runs one job module in a fresh process for watch.mjs --spawn: import it, await run().
// Usage: node runner.mjs <module-path>
import { pathToFileURL } from "node:url";

const mod = await import(pathToFileURL(process.argv[2]).href);
await (mod.run ?? mod.default)();
