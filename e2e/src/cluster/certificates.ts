// @peculiar/x509 resolves its ASN.1 codecs through tsyringe, which needs this polyfill loaded first.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

/** ECDSA P-256: every Kubernetes component accepts it, and generating it takes milliseconds. */
const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const VALIDITY_MS = 365 * 24 * 3600 * 1000;

export interface PemKeyPair {
  certificate: string;
  privateKey: string;
}

export interface CertificateAuthority extends PemKeyPair {
  /** Issues a certificate for a client (`CN=user, O=group`) or a server (with SANs). */
  issue(request: {
    commonName: string;
    organizations?: string[];
    usage: 'client' | 'server';
    dnsNames?: string[];
    ipAddresses?: string[];
  }): Promise<PemKeyPair>;
}

async function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(KEY_ALGORITHM, true, [
    'sign',
    'verify',
  ]) as Promise<webcrypto.CryptoKeyPair>;
}

async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

/** A positive 16-byte serial: Go's x509 parser rejects negative and zero serials. */
function serialNumber(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return Buffer.from(bytes).toString('hex');
}

/** `CN=…, O=…` with RFC 4514 escaping, for names like `system:node:e2e-node`. */
function distinguishedName(commonName: string, organizations: string[] = []): string {
  const escaped = (value: string) => value.replace(/([,+"\\<>;=])/g, '\\$1');
  return [`CN=${escaped(commonName)}`, ...organizations.map((o) => `O=${escaped(o)}`)].join(', ');
}

export async function createCertificateAuthority(commonName: string): Promise<CertificateAuthority> {
  const keys = await generateKeys();
  const notBefore = new Date(Date.now() - 60_000);
  const authority = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: distinguishedName(commonName),
    notBefore,
    notAfter: new Date(notBefore.getTime() + VALIDITY_MS),
    signingAlgorithm: KEY_ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });

  return {
    certificate: authority.toString('pem'),
    privateKey: await privateKeyPem(keys.privateKey),
    async issue({ commonName, organizations, usage, dnsNames = [], ipAddresses = [] }) {
      const leafKeys = await generateKeys();
      const names = [
        ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
        ...ipAddresses.map((value) => ({ type: 'ip' as const, value })),
      ];
      const certificate = await x509.X509CertificateGenerator.create({
        serialNumber: serialNumber(),
        subject: distinguishedName(commonName, organizations),
        issuer: authority.subject,
        notBefore,
        notAfter: new Date(notBefore.getTime() + VALIDITY_MS),
        signingAlgorithm: KEY_ALGORITHM,
        publicKey: leafKeys.publicKey,
        signingKey: keys.privateKey,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(
            x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
            true,
          ),
          new x509.ExtendedKeyUsageExtension([
            usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth,
          ]),
          await x509.AuthorityKeyIdentifierExtension.create(authority),
          ...(names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names)] : []),
        ],
      });
      return {
        certificate: certificate.toString('pem'),
        privateKey: await privateKeyPem(leafKeys.privateKey),
      };
    },
  };
}

/** The key pair that signs and verifies ServiceAccount tokens (PKCS#8 and SPKI PEM). */
export async function createServiceAccountKeys(): Promise<{ privateKey: string; publicKey: string }> {
  const keys = await generateKeys();
  return {
    privateKey: await privateKeyPem(keys.privateKey),
    publicKey: x509.PemConverter.encode(
      await webcrypto.subtle.exportKey('spki', keys.publicKey),
      'PUBLIC KEY',
    ),
  };
}
