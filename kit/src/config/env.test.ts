import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadEnv } from './env.ts';

const schema = Type.Object({
  DATABASE_URL: Type.String({ pattern: '^postgres://', description: 'where the data lives' }),
  PORT: Type.Integer({ default: 3000, minimum: 1, maximum: 65535 }),
  TRUST_PROXY: Type.Boolean({ default: false }),
});

describe('loadEnv', () => {
  it('converts values and fills defaults', () => {
    expect(loadEnv(schema, { DATABASE_URL: 'postgres://x', PORT: '8080', TRUST_PROXY: 'true' })).toEqual({
      DATABASE_URL: 'postgres://x',
      PORT: 8080,
      TRUST_PROXY: true,
    });
    expect(loadEnv(schema, { DATABASE_URL: 'postgres://x' }).PORT).toBe(3000);
  });

  it('reads NAME_FILE from a mounted file, and names an unreadable one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'env-test-'));
    writeFileSync(join(dir, 'url'), 'postgres://from-file\n');
    expect(loadEnv(schema, { DATABASE_URL_FILE: join(dir, 'url') }).DATABASE_URL).toBe(
      'postgres://from-file',
    );
    expect(() => loadEnv(schema, { DATABASE_URL_FILE: join(dir, 'missing') })).toThrow(
      /^DATABASE_URL_FILE names/,
    );
  });

  it('names a missing variable in one line', () => {
    expect(() => loadEnv(schema, {})).toThrow(
      new ConfigError('DATABASE_URL is required: where the data lives'),
    );
  });

  it('names an invalid variable', () => {
    expect(() => loadEnv(schema, { DATABASE_URL: 'postgres://x', PORT: 'eighty' })).toThrow(
      /^PORT is invalid/,
    );
    expect(() => loadEnv(schema, { DATABASE_URL: 'mysql://x' })).toThrow(/^DATABASE_URL is invalid/);
    expect(() => loadEnv(schema, { DATABASE_URL: 'postgres://x', PORT: '70000' })).toThrow(
      /^PORT is invalid/,
    );
  });
});
