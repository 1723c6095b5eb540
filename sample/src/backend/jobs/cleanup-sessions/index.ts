// Job `cleanup-sessions`: run by the webstir scheduler, or directly with
//   node build/backend/jobs/cleanup-sessions/index.js [args...]
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { expiredSessions } from '../../db/sessions';
import { env } from '../../env';

export async function run(...args: string[]): Promise<void> {
  const stale = expiredSessions();
  const region = env('REGION', 'local');
  console.info(`[job:cleanup-sessions] removed ${stale.length} expired session(s) in ${region}`, ...args);
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
    console.error('[job:cleanup-sessions] failed:', error);
    process.exit(1);
  });
}
