import { randomUUID } from 'node:crypto';
import { Keyring } from '@amanat/kit/secrets/keyring';
import { describe, expect, it } from 'vitest';
import { loadDataPlaneConfig } from './config.ts';

/** Every required setting, valid; a test changes one. */
const env = (changes: Record<string, string | undefined> = {}): NodeJS.ProcessEnv => ({
  TENANT_ID: randomUUID(),
  TENANT_SLUG: 'tea-house',
  DATABASE_URL: 'postgres://tenant:secret@127.0.0.1:5432/shop',
  PUBLIC_HOSTS: 'tea-house.localhost:8080,tea.example',
  CONTROL_PLANE_URL: 'http://127.0.0.1:1',
  CONTROL_PLANE_JWKS: JSON.stringify({ keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'x' }] }),
  PAYMENT_EVIDENCE_SECRET: 'unit-payment-evidence-secret-0123456789',
  DELIVERY_LINK_SECRET: 'unit-delivery-link-secret-0123456789abcdef',
  SECRETS_KEYS: Keyring.generateSpec(),
  ...changes,
});

describe("the shop's public origin", () => {
  it('is https on the first public host, port and all, unless PUBLIC_SCHEME says http', () => {
    expect(loadDataPlaneConfig(env()).publicOrigin).toBe('https://tea-house.localhost:8080');
    expect(loadDataPlaneConfig(env({ PUBLIC_SCHEME: 'http' })).publicOrigin).toBe(
      'http://tea-house.localhost:8080',
    );
    expect(loadDataPlaneConfig(env({ PUBLIC_HOSTS: 'tea.example' })).publicOrigin).toBe(
      'https://tea.example',
    );
  });

  it('refuses another scheme, naming the setting', () => {
    expect(() => loadDataPlaneConfig(env({ PUBLIC_SCHEME: 'ftp' }))).toThrow(/PUBLIC_SCHEME/);
  });

  it('gives the default sender address the canonical host without its port', () => {
    expect(loadDataPlaneConfig(env()).mailFrom).toBe('orders@tea-house.localhost');
  });
});
