import { loadEnv } from '@amanat/kit/config/env';
import { describe, expect, it } from 'vitest';
import { OperatorEnv } from './config.ts';

const required = {
  PROVISIONER_ADMIN_URL: 'postgres://admin:secret@127.0.0.1:5432/postgres',
  CONTROL_PLANE_URL: 'http://127.0.0.1:3000',
  CONTROL_PLANE_JWKS: '{"keys":[]}',
  DATABASE_CIDRS: '10.0.0.5/32',
};

describe('the data planes’ SMTP server', () => {
  it('is optional, and must be an smtp:// or smtps:// URL', () => {
    expect(loadEnv(OperatorEnv, required).DATA_PLANE_SMTP_URL).toBeUndefined();
    expect(
      loadEnv(OperatorEnv, { ...required, DATA_PLANE_SMTP_URL: 'smtps://shop:pw@mail.example:465' })
        .DATA_PLANE_SMTP_URL,
    ).toBe('smtps://shop:pw@mail.example:465');
    expect(() => loadEnv(OperatorEnv, { ...required, DATA_PLANE_SMTP_URL: 'https://mail.example' })).toThrow(
      /DATA_PLANE_SMTP_URL/,
    );
  });
});
