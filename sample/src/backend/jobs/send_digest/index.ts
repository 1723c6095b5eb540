// Job `send_digest`: run by the webstir scheduler, or directly with
//   node build/backend/jobs/send_digest/index.js [args...]
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export async function run(...args: string[]): Promise<void> {
  const at = new Date().toISOString();
  console.info(`[job:send_digest] ran at ${at}`, ...args);
}

// Run by itself when this built file is the program Node started, not when it is imported.
// Real paths are compared because Node resolves symbolic links in the module's URL but not
// in `process.argv[1]` (a deploy folder such as `/srv/app/current` is often a link).
function startedDirectly(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) {
    return false;
  }
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (startedDirectly()) {
  run(...process.argv.slice(2)).catch((error: unknown) => {
    console.error(`[job:send_digest] failed:`, error);
    process.exit(1);
  });
}
