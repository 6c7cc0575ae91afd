import { request as httpRequest } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostnameOf, startRouter } from './router.ts';

let router: Awaited<ReturnType<typeof startRouter>>;
const upstreams: FastifyInstance[] = [];
const table = new Map<string, string>();

async function upstream(name: string): Promise<string> {
  const app = Fastify();
  // A suspended shop: its unavailable page, with a retry-after of an hour.
  app.get('/unavailable', async (_request, reply) =>
    reply.code(503).header('retry-after', '3600').type('text/html').send('<p>closed for now</p>'),
  );
  app.all('/*', async (request) => ({
    name,
    url: request.url,
    host: request.headers.host,
    forwardedHost: request.headers['x-forwarded-host'],
    body: request.body ?? null,
  }));
  upstreams.push(app);
  return app.listen({ host: '127.0.0.1', port: 0 });
}

beforeAll(async () => {
  table.set('admin.localhost', await upstream('control-plane'));
  table.set('sara.localhost', await upstream('sara'));
  table.set('shop.sara.example', table.get('sara.localhost') as string);
  table.set('gone.localhost', 'http://127.0.0.1:9');
  router = await startRouter({ upstreamFor: (host) => table.get(host) }, { host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await router.close();
  await Promise.all(upstreams.map((app) => app.close()));
});

/** A request with its own Host header (fetch may not set one). */
function ask(
  host: string,
  path = '/',
  init: { method?: string; body?: string; headers?: Record<string, string> } = {},
) {
  return new Promise<{ status: number; type: string | undefined; text: string; json(): unknown }>(
    (resolve, reject) => {
      const request = httpRequest(
        `${router.url}${path}`,
        { method: init.method ?? 'GET', headers: { ...init.headers, host } },
        (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk) => {
            text += chunk;
          });
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              type: response.headers['content-type'],
              text,
              json: () => JSON.parse(text),
            }),
          );
        },
      );
      request.on('error', reject);
      request.end(init.body);
    },
  );
}

type Echo = { name: string; url: string; host: string; forwardedHost: string; body: unknown };

describe('the local router', () => {
  it('sends each Host to its upstream, keeping the host, path and query', async () => {
    expect((await ask('admin.localhost:8080', '/api/me')).json()).toMatchObject({
      name: 'control-plane',
      url: '/api/me',
    });
    const shop = (await ask('Sara.Localhost:8080', '/items/mug?lang=fa')).json();
    expect(shop).toMatchObject({
      name: 'sara',
      url: '/items/mug?lang=fa',
      host: 'Sara.Localhost:8080',
      forwardedHost: 'Sara.Localhost:8080',
    });
    expect(((await ask('shop.sara.example')).json() as Echo).name).toBe('sara');
  });

  it('passes request bodies through', async () => {
    const response = await ask('sara.localhost', '/api/storefront/checkout', {
      method: 'POST',
      body: JSON.stringify({ lines: [1] }),
      headers: { 'content-type': 'application/json' },
    });
    expect((response.json() as Echo).body).toEqual({ lines: [1] });
  });

  it('answers an unknown host with a plain 404 page that names no platform', async () => {
    const response = await ask('nobody.example');
    expect(response.status).toBe(404);
    expect(response.type).toBe('text/html; charset=utf-8');
    const page = response.text;
    expect(page).toContain('Not found');
    expect(page).not.toMatch(/amanat/i);
  });

  it("passes an upstream's 503 straight through, without waiting out its Retry-After", async () => {
    const startedAt = Date.now();
    const response = await ask('sara.localhost', '/unavailable');
    expect(response.status).toBe(503);
    expect(response.text).toBe('<p>closed for now</p>');
    expect(Date.now() - startedAt).toBeLessThan(2_000);
  });

  it('answers 502 with a page when the upstream is down', async () => {
    const response = await ask('gone.localhost');
    expect(response.status).toBe(502);
    expect(response.text).not.toMatch(/amanat/i);
  });

  it('reads hostnames without port, trailing dot or case', () => {
    expect(hostnameOf('Shop.Example.:8080')).toBe('shop.example');
    expect(hostnameOf(undefined)).toBe('');
  });
});
