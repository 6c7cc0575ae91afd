import { exportJWK, importJWK, type JWK, SignJWT } from 'jose';

/** Must match the data plane's expectations (data-plane/src/auth/staff.ts). */
export const STAFF_TOKEN_ISSUER = 'amanat-control-plane';
export const STAFF_TOKEN_TTL_SECONDS = 300;

export interface SigningKey {
  kid: string;
  sign(claims: { sub: string; role: string; aud: string }): Promise<{ token: string; expiresAt: Date }>;
  /** The public half, as published in the JWKS the data planes trust. */
  publicJwk: JWK;
}

/**
 * Loads the Ed25519 private key (a JWK with `kid`) that signs staff tokens for data planes.
 * Asymmetric on purpose: data planes hold only the public key, so a compromised data plane
 * cannot mint tokens for any tenant.
 */
export async function loadSigningKey(privateJwkJson: string): Promise<SigningKey> {
  const jwk = JSON.parse(privateJwkJson) as JWK;
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || !jwk.d || !jwk.kid) {
    throw new Error('DATA_PLANE_SIGNING_KEY must be an Ed25519 private JWK with a kid');
  }
  const privateKey = await importJWK(jwk, 'EdDSA');
  const { d: _private, ...publicJwk } = jwk;
  return {
    kid: jwk.kid,
    publicJwk: { ...publicJwk, alg: 'EdDSA', use: 'sig' },
    async sign({ sub, role, aud }) {
      const expiresAt = new Date(Date.now() + STAFF_TOKEN_TTL_SECONDS * 1000);
      const token = await new SignJWT({ role })
        .setProtectedHeader({ alg: 'EdDSA', kid: jwk.kid as string })
        .setIssuer(STAFF_TOKEN_ISSUER)
        .setAudience(aud)
        .setSubject(sub)
        .setIssuedAt()
        .setJti(crypto.randomUUID())
        .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
        .sign(privateKey);
      return { token, expiresAt };
    },
  };
}

/** A fresh signing key as a private JWK JSON string (local development, tests). */
export async function generateSigningKeyJson(kid = `cp-${Date.now().toString(36)}`): Promise<string> {
  const { generateKeyPair } = await import('jose');
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  return JSON.stringify({ ...(await exportJWK(privateKey)), kid });
}
