import { Keyring } from '@amanat/kit/secrets/keyring';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { users } from '../accounts/schema.ts';
import { currentTotpCode } from '../accounts/totp.ts';
import { loadConfig } from '../config.ts';
import { startTestControlPlane, type TestControlPlane } from '../testing/harness.ts';
import { resealSecrets } from './reseal.ts';

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(() => cp.close());

describe('secrets key rotation', () => {
  it('re-seals TOTP secrets with the new key; MFA keeps working with the old key removed', async () => {
    const admin = await cp.admin();
    const oldSpec = cp.config.SECRETS_KEYS;
    const rotatedSpec = `${Keyring.generateSpec('k2')},${oldSpec}`;
    const rotated = {
      db: cp.db,
      config: loadConfig({
        DATABASE_URL: cp.config.DATABASE_URL,
        SECRETS_KEYS: rotatedSpec,
        DATA_PLANE_SIGNING_KEY: cp.config.DATA_PLANE_SIGNING_KEY,
      }),
    };

    expect(await resealSecrets(rotated)).toEqual({ checked: 1, resealed: 1 });
    expect(await resealSecrets(rotated)).toEqual({ checked: 1, resealed: 0 });
    const [row] = await cp.db.select().from(users).where(eq(users.id, admin.id));
    expect(row?.totpSecret?.split('.')[1]).toBe('k2');

    const onlyNewKey = Keyring.parse(rotatedSpec.split(',')[0] as string);
    expect(onlyNewKey.open(row?.totpSecret as string, admin.id)).toBe(admin.totpSecret);
    expect(currentTotpCode(onlyNewKey.open(row?.totpSecret as string, admin.id))).toBe(
      currentTotpCode(admin.totpSecret),
    );
  });
});
