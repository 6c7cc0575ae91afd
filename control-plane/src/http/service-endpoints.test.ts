import { Writable } from 'node:stream';
import type { App } from '@amanat/kit/http/types';
import { cloneDatabase } from '@amanat/kit/postgres/test-databases';
import { Keyring } from '@amanat/kit/secrets/keyring';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../app.ts';
import { loadConfig } from '../config.ts';
import { generateSigningKeyJson } from '../data-plane-access/signing.ts';
import { connect } from '../db/client.ts';
import { PASSWORD, uniqueEmail } from '../testing/harness.ts';

const lines: Record<string, unknown>[] = [];
const capture = new Writable({
  write(chunk, _encoding, done) {
    for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
    done();
  },
});

let app: App;
let close: () => Promise<void>;
beforeAll(async () => {
  const database = await cloneDatabase(inject('pgAdminUrl'), inject('templates').controlPlane as string);
  const config = loadConfig({
    DATABASE_URL: database.url,
    SECRETS_KEYS: Keyring.generateSpec(),
    DATA_PLANE_SIGNING_KEY: await generateSigningKeyJson('logs-test'),
    LOG_LEVEL: 'info',
  });
  const { db, pool } = connect(config.DATABASE_URL);
  app = await buildApp({ db, pool, config, logStream: capture });
  await app.ready();
  close = async () => {
    await app.close();
    await pool.end();
    await database.drop();
  };
});
afterAll(() => close());

describe('health, readiness and metrics', () => {
  it('/healthz answers without touching anything', async () => {
    const response = await app.inject('/healthz');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it('/readyz checks the database and that migrations are current', async () => {
    expect((await app.inject('/readyz')).json()).toEqual({ status: 'ready' });
  });

  it('/metrics exposes default metrics and requests by route and status', async () => {
    await app.inject('/auth/me');
    const body = (await app.inject('/metrics')).body;
    expect(body).toContain('process_cpu_user_seconds_total');
    expect(body).toMatch(/http_requests_total\{[^}]*method="GET",route="\/auth\/me",status_code="401"/);
    expect(body).toMatch(/http_request_duration_seconds_bucket\{[^}]*route="\/auth\/me"/);
  });
});

describe('logs', () => {
  it('carry the request id on every request line, echo it back, and redact credentials', async () => {
    const email = uniqueEmail('logs');
    await app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { email, password: PASSWORD, display_name: 'L' },
    });
    const login = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email, password: PASSWORD },
      headers: { 'x-request-id': 'trace-abc-123' },
    });
    expect(login.headers['x-request-id']).toBe('trace-abc-123');
    const token = login.json().access_token as string;
    await app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${token}` } });

    const requestLines = lines.filter((line) => 'req' in line || 'res' in line);
    expect(requestLines.length).toBeGreaterThan(4);
    for (const line of requestLines) expect(line.requestId, JSON.stringify(line)).toEqual(expect.any(String));
    expect(requestLines.some((line) => line.requestId === 'trace-abc-123')).toBe(true);
    // Tenant-scoped requests carry the tenant on every line, the framework's own included.
    const tenantId = '00000000-0000-4000-8000-000000000001';
    const scoped = await app.inject({
      method: 'GET',
      url: `/tenants/${tenantId}`,
      headers: { authorization: `Bearer ${token}` },
    });
    const scopedLines = lines.filter((line) => line.requestId === scoped.headers['x-request-id']);
    expect(scopedLines.length).toBeGreaterThanOrEqual(2);
    for (const line of scopedLines) expect(line.tenantId).toBe(tenantId);

    // Query strings can carry tokens: the logged URL is the path alone.
    await app.inject({ method: 'GET', url: '/auth/me?token=query-secret-123' });
    const everything = JSON.stringify(lines);
    expect(everything).toContain('"url":"/auth/me"');
    expect(everything).not.toContain('query-secret-123');
    expect(everything).not.toContain(PASSWORD);
    expect(everything).not.toContain(token);
  });
});
