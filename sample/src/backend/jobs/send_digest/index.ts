// Job `send_digest`: run by the webstir scheduler, or directly with
//   node build/backend/jobs/send_digest/index.js [args...]
import { pathToFileURL } from 'node:url';

export async function run(...args: string[]): Promise<void> {
  const at = new Date().toISOString();
  console.info(`[job:send_digest] ran at ${at}`, ...args);
}

// Run by itself when this built file is the program Node started, not when it is imported.
const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  run(...process.argv.slice(2)).catch((error: unknown) => {
    console.error(`[job:send_digest] failed:`, error);
    process.exit(1);
  });
}
