// Job `cleanup-sessions`: run by the webstir scheduler, or directly with
//   node build/backend/jobs/cleanup-sessions/index.js
import { pathToFileURL } from 'node:url';

import { expiredSessions } from '../../db/sessions';
import { env } from '../../env';

export async function run(...args: string[]): Promise<void> {
  const stale = expiredSessions();
  const region = env('REGION', 'local');
  console.info(`[job:cleanup-sessions] removed ${stale.length} expired session(s) in ${region}`, ...args);
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  run(...process.argv.slice(2)).catch((error: unknown) => {
    console.error('[job:cleanup-sessions] failed:', error);
    process.exit(1);
  });
}
