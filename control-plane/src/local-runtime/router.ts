import replyFrom from '@fastify/reply-from';
import Fastify, { type FastifyInstance } from 'fastify';

/**
 * The local platform's one front door: requests are routed by their `Host` header to the
 * control plane (`admin.localhost`) or to a shop's data plane (`<slug>.localhost` and the
 * shop's own hostnames). The local stand-in for Caddy; the routing table is the runtime's.
 */
export interface RouteTable {
  /** The upstream base URL for a hostname (lower case, no port), or undefined. */
  upstreamFor(host: string): string | undefined;
}

/** The page for a host nobody serves: plain, and naming no platform (a shop's domain may point here). */
const UNKNOWN_HOST_PAGE =
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Not found</title></head>' +
  '<body><h1>Not found</h1><p>There is no site at this address.</p></body></html>';

const UNAVAILABLE_PAGE =
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Unavailable</title></head>' +
  '<body><h1>Unavailable</h1><p>This site is starting or unavailable. Try again in a moment.</p></body></html>';

/** `Shop.Example:8080` → `shop.example`. */
export function hostnameOf(hostHeader: string | undefined): string {
  return (hostHeader ?? '').replace(/:\d+$/, '').replace(/\.$/, '').toLowerCase();
}

export async function startRouter(
  routes: RouteTable,
  options: { host: string; port: number },
): Promise<{ app: FastifyInstance; url: string; close(): Promise<void> }> {
  const app = Fastify({ logger: false, trustProxy: false });
  await app.register(replyFrom, { undici: { connections: 64, pipelining: 1 } });
  app.all('/*', async (request, reply) => {
    const host = hostnameOf(request.headers.host);
    const upstream = routes.upstreamFor(host);
    if (!upstream) return reply.code(404).type('text/html; charset=utf-8').send(UNKNOWN_HOST_PAGE);
    return reply.from(`${upstream}${request.url}`, {
      // The upstream sees the buyer's own host (the data plane checks it against its hosts and
      // builds links from it) and where the request came from (TRUST_PROXY=true).
      rewriteRequestHeaders: (_request, headers) => ({
        ...headers,
        host: request.headers.host ?? host,
        'x-forwarded-host': request.headers.host ?? host,
        'x-forwarded-proto': 'http',
        'x-forwarded-for': request.ip,
      }),
      // reply-from retries a GET answered 503 after its Retry-After (a suspended shop says an
      // hour) before answering: the browser must get the shop's unavailable page at once.
      retryDelay: () => null,
      onError: (errorReply) => {
        errorReply.code(502).type('text/html; charset=utf-8').send(UNAVAILABLE_PAGE);
      },
    });
  });
  // Bodies stream through to the upstream unparsed.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  const url = await app.listen({ host: options.host, port: options.port });
  return { app, url, close: () => app.close() };
}
