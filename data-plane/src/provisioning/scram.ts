import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

/** 32 random bytes, URL-safe: strong enough to need no password policy, safe in a URL. */
export function generatePassword(): string {
  return randomBytes(32).toString('base64url');
}

const ITERATIONS = 4096;

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802 / 7677), computed
 * here so that `ALTER ROLE … PASSWORD` sends the server only the verifier: the plaintext
 * never reaches a server log or `pg_stat_statements`. pg and pg-protocol implement only the
 * client side of SCRAM, hence these few lines.
 */
export function scramVerifier(password: string, salt = randomBytes(16)): string {
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, ITERATIONS, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${ITERATIONS}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
