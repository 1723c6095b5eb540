// Entry point of the `sample` API: `npm run build && npm start`.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';

import { envInt } from './env.js';

function handle(request: IncomingMessage, response: ServerResponse): void {
  if (request.method === 'GET' && request.url === '/health') {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ status: 'ok' }));
    return;
  }
  response.writeHead(404, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ error: 'not found' }));
}

const port = envInt('PORT', 3000);
const server = createServer(handle);
server.listen(port, () => {
  // With PORT=0 the system picks a free port; report the one actually bound.
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  console.info(`[sample] listening on http://localhost:${bound}`);
});

// Let the process end cleanly when a supervisor stops it.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
