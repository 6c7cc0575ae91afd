// The e2e cluster's test image (`amanat/e2e-echo`): an HTTP server on HOST:PORT that answers
// /healthz and /readyz and echoes its environment and pid, so tests can see what the node
// agent gave it. ECHO_EXIT_AFTER_MS=<ms> makes it exit with code 3 after that long (a crashing
// program); ECHO_NOT_READY=true makes /readyz answer 503.
import { createServer } from 'node:http';

const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 8080);

const server = createServer((request, response) => {
  if (request.url === '/healthz') return response.end('ok');
  if (request.url === '/readyz') {
    response.statusCode = process.env.ECHO_NOT_READY === 'true' ? 503 : 200;
    return response.end(response.statusCode === 200 ? 'ready' : 'not ready');
  }
  response.setHeader('content-type', 'application/json');
  response.end(JSON.stringify({ pid: process.pid, env: process.env }));
});
server.listen(port, host);

const exitAfterMs = Number(process.env.ECHO_EXIT_AFTER_MS ?? 0);
if (exitAfterMs > 0) setTimeout(() => process.exit(3), exitAfterMs);

process.on('SIGTERM', () => server.close(() => process.exit(0)));
