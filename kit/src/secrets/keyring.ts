import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Secrets at rest: AES-256-GCM, each sealed value prefixed with the id of the key that
 * sealed it, so keys can rotate — the first key seals, every listed key can still open.
 *
 * Sealed format: `v1.<keyId>.<iv>.<ciphertext+tag>` (base64url parts).
 */
export class Keyring {
  private readonly keys: Map<string, Buffer>;
  private readonly activeKeyId: string;

  constructor(keys: { id: string; key: Buffer }[]) {
    const first = keys[0];
    if (!first) throw new Error('a keyring needs at least one key');
    for (const { id, key } of keys) {
      if (!/^[A-Za-z0-9_-]{1,32}$/.test(id)) throw new Error(`key id "${id}" must be 1-32 of [A-Za-z0-9_-]`);
      if (key.length !== 32) throw new Error(`key "${id}" must be 32 bytes`);
    }
    this.keys = new Map(keys.map(({ id, key }) => [id, key]));
    this.activeKeyId = first.id;
  }

  /** Parses `id:base64key,id2:base64key`; the first entry is the sealing key. */
  static parse(spec: string): Keyring {
    return new Keyring(
      spec.split(',').map((entry) => {
        const [id, key] = entry.trim().split(':');
        if (!id || !key) throw new Error('expected comma-separated id:base64key entries');
        return { id, key: Buffer.from(key, 'base64') };
      }),
    );
  }

  static generateSpec(id = 'k1'): string {
    return `${id}:${randomBytes(32).toString('base64')}`;
  }

  seal(plaintext: string, associatedData = ''): string {
    const key = this.keys.get(this.activeKeyId) as Buffer;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(associatedData));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return ['v1', this.activeKeyId, iv.toString('base64url'), body.toString('base64url')].join('.');
  }

  open(sealed: string, associatedData = ''): string {
    const [version, keyId, ivText, bodyText] = sealed.split('.');
    if (version !== 'v1' || !keyId || !ivText || !bodyText) throw new Error('not a sealed secret');
    const key = this.keys.get(keyId);
    if (!key) throw new Error(`sealed with unknown key "${keyId}"`);
    const body = Buffer.from(bodyText, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(ivText, 'base64url'));
    decipher.setAAD(Buffer.from(associatedData));
    decipher.setAuthTag(body.subarray(body.length - 16));
    return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString(
      'utf8',
    );
  }

  /** True when the value was sealed by a key other than the active one (due for re-sealing). */
  needsReseal(sealed: string): boolean {
    return sealed.split('.')[1] !== this.activeKeyId;
  }
}
