import { describe, expect, it } from 'vitest';
import { redactSecrets } from './redact.ts';

describe('redactSecrets', () => {
  it('replaces every secret-looking field, whatever its case or spelling', () => {
    const redacted = redactSecrets({
      password: 'hunter2hunter2',
      passwordHash: '$argon2id$...',
      current_password: 'a',
      pass: 'b',
      totpSecret: 'JBSWY3DPEHPK3PXP',
      totp_pending_secret: 'sealed',
      accessToken: 'cpat_123',
      refresh_token: 'cprt_456',
      api_key: 'k1',
      'api-key': 'k2',
      ApiKey: 'k3',
      private_key: '-----BEGIN PRIVATE KEY-----',
      credentials: { user: 'u', pass: 'p' },
      HASH: 'x',
    }) as Record<string, unknown>;
    for (const [key, value] of Object.entries(redacted)) expect(value, key).toBe('[REDACTED]');
  });

  it('keeps ordinary fields and walks nested objects and arrays', () => {
    const input = {
      id: 'u1',
      email: 'a@example.com',
      role: 'seller',
      count: 3,
      enabled: false,
      nested: { display_name: 'Shop', stripe: { secret_key: 'sk_test_1', publishable: 'pk_test_1' } },
      list: [{ token: 't1', name: 'first' }, 'plain', 7, null],
    };
    expect(redactSecrets(input)).toEqual({
      id: 'u1',
      email: 'a@example.com',
      role: 'seller',
      count: 3,
      enabled: false,
      nested: { display_name: 'Shop', stripe: { secret_key: '[REDACTED]', publishable: 'pk_test_1' } },
      list: [{ token: '[REDACTED]', name: 'first' }, 'plain', 7, null],
    });
  });

  it('leaves null secrets as null, so "not set" stays visible', () => {
    expect(redactSecrets({ totp_secret: null, password: 'x' })).toEqual({
      totp_secret: null,
      password: '[REDACTED]',
    });
  });

  it('turns dates into ISO strings and passes scalars through', () => {
    const at = new Date('2024-05-01T12:00:00.000Z');
    expect(redactSecrets({ created_at: at })).toEqual({ created_at: '2024-05-01T12:00:00.000Z' });
    expect(redactSecrets('token')).toBe('token');
    expect(redactSecrets(42)).toBe(42);
    expect(redactSecrets(null)).toBeNull();
    expect(redactSecrets(undefined)).toBeUndefined();
  });

  it('does not modify its input', () => {
    const input = { password: 'secret value', nested: { token: 't' } };
    redactSecrets(input);
    expect(input).toEqual({ password: 'secret value', nested: { token: 't' } });
  });
});
