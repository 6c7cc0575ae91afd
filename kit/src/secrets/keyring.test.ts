import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Keyring } from './keyring.ts';

describe('Keyring', () => {
  it('opens what it sealed, for any text', () => {
    const keyring = Keyring.parse(Keyring.generateSpec('k1'));
    fc.assert(
      fc.property(fc.string(), fc.string(), (text, aad) => {
        const sealed = keyring.seal(text, aad);
        expect(sealed).not.toContain(text.length > 3 ? text : '\u0000never');
        expect(keyring.open(sealed, aad)).toBe(text);
      }),
    );
  });

  it('rotates: the new first key seals, older keys still open', () => {
    const oldSpec = Keyring.generateSpec('old');
    const sealedWithOld = Keyring.parse(oldSpec).seal('totp secret');
    const rotated = Keyring.parse(`${Keyring.generateSpec('new')},${oldSpec}`);
    expect(rotated.open(sealedWithOld)).toBe('totp secret');
    expect(rotated.needsReseal(sealedWithOld)).toBe(true);
    const resealed = rotated.seal('totp secret');
    expect(resealed.split('.')[1]).toBe('new');
    expect(rotated.needsReseal(resealed)).toBe(false);
  });

  it('refuses tampered ciphertext, other associated data and unknown keys', () => {
    const keyring = Keyring.parse(Keyring.generateSpec('k1'));
    const sealed = keyring.seal('secret', 'user-1');
    const parts = sealed.split('.');
    const body = Buffer.from(parts[3] as string, 'base64url');
    body[0] = (body[0] as number) ^ 1;
    expect(() =>
      keyring.open([parts[0], parts[1], parts[2], body.toString('base64url')].join('.'), 'user-1'),
    ).toThrow();
    expect(() => keyring.open(sealed, 'user-2')).toThrow();
    expect(() => Keyring.parse(Keyring.generateSpec('k2')).open(sealed, 'user-1')).toThrow(
      /unknown key "k1"/,
    );
  });

  it('refuses malformed key specs', () => {
    expect(() => Keyring.parse('k1:dG9vIHNob3J0')).toThrow(/32 bytes/);
    expect(() => Keyring.parse('no-colon')).toThrow(/id:base64key/);
  });
});
