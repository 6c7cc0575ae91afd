import { createHash, randomBytes } from 'node:crypto';

/** Opaque bearer secrets; only their SHA-256 is stored, so a database leak yields no tokens. */
export function newToken(prefix: 'cpat' | 'cprt'): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
