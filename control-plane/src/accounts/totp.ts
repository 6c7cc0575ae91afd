import { Secret, TOTP } from 'otpauth';

const PERIOD_SECONDS = 30;

function totpFor(secretBase32: string, label: string): TOTP {
  return new TOTP({
    issuer: 'Amanat Shops',
    label,
    algorithm: 'SHA1',
    digits: 6,
    period: PERIOD_SECONDS,
    secret: Secret.fromBase32(secretBase32),
  });
}

export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

export function totpUri(secretBase32: string, label: string): string {
  return totpFor(secretBase32, label).toString();
}

export function currentTotpCode(secretBase32: string, at = Date.now()): string {
  return totpFor(secretBase32, 'code').generate({ timestamp: at });
}

/**
 * Checks a code against the current step ±1 (clock drift) and returns the time step it
 * matched, or null. Callers refuse a step at or before the last one accepted (replay).
 */
export function matchTotpStep(secretBase32: string, code: string, at = Date.now()): number | null {
  const delta = totpFor(secretBase32, 'code').validate({ token: code, timestamp: at, window: 1 });
  if (delta === null) return null;
  return Math.floor(at / 1000 / PERIOD_SECONDS) + delta;
}
