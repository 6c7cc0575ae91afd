import { loadEnv } from '@amanat/kit/config/env';
import { Keyring } from '@amanat/kit/secrets/keyring';
import { type Static, Type } from 'typebox';

export const ConfigSchema = Type.Object({
  DATABASE_URL: Type.String({
    pattern: '^postgres(ql)?://',
    description:
      'PostgreSQL connection string for the control-plane database, e.g. postgres://u:p@127.0.0.1/cp',
  }),
  SECRETS_KEYS: Type.String({
    pattern: '^[A-Za-z0-9_-]{1,32}:[A-Za-z0-9+/=]{43,44}(,[A-Za-z0-9_-]{1,32}:[A-Za-z0-9+/=]{43,44})*$',
    description: 'comma-separated id:base64(32-byte key) list; the first key seals new secrets',
  }),
  DATA_PLANE_SIGNING_KEY: Type.String({
    minLength: 2,
    description: "Ed25519 private JWK (JSON, with kid) that signs staff tokens for tenants' data planes",
  }),
  HOST: Type.String({ default: '127.0.0.1', minLength: 1, description: 'interface to listen on' }),
  PORT: Type.Integer({ default: 3000, minimum: 0, maximum: 65535, description: 'TCP port to listen on' }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
    { default: 'info', description: 'pino log level' },
  ),
  BODY_LIMIT_BYTES: Type.Integer({
    default: 65_536,
    minimum: 1024,
    description: 'largest accepted request body',
  }),
  TRUST_PROXY: Type.Boolean({ default: false, description: 'trust X-Forwarded-* from a reverse proxy' }),
  ACCESS_TOKEN_TTL_SECONDS: Type.Integer({
    default: 3600,
    minimum: 60,
    maximum: 3600,
    description: 'lifetime of an access token (at most one hour)',
  }),
  REFRESH_TOKEN_TTL_SECONDS: Type.Integer({
    default: 30 * 24 * 3600,
    minimum: 3600,
    description: 'lifetime of a refresh token',
  }),
  ADMIN_MFA_MAX_AGE_SECONDS: Type.Integer({
    default: 900,
    minimum: 30,
    maximum: 86_400,
    description: 'how recent an MFA check must be for platform-admin operations',
  }),
  KUBERNETES_SYNC: Type.Boolean({
    default: false,
    description:
      "keep each tenant's Tenant resource in step with the registry, through KUBECONFIG (or ~/.kube/config) or the in-cluster ServiceAccount",
  }),
  KUBERNETES_RESYNC_SECONDS: Type.Integer({
    default: 60,
    minimum: 5,
    maximum: 3600,
    description: 'how often the registry and the Tenant resources are compared and converged',
  }),
  SHOPS_DOMAIN: Type.String({
    default: 'shops.localhost',
    maxLength: 200,
    pattern: '^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)*[a-z]{2,63}$',
    description: "the platform's shop domain: every shop answers on <slug>.<SHOPS_DOMAIN>",
  }),
  DATA_PLANE_VERSION: Type.String({
    default: '0.1.0',
    pattern: '^[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]+)?$',
    description: 'the data-plane release a new Tenant resource starts on (ops may change it later)',
  }),
});

export type RawConfig = Static<typeof ConfigSchema>;
export type Config = RawConfig & { keyring: Keyring };

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw = loadEnv(ConfigSchema, env);
  return { ...raw, keyring: Keyring.parse(raw.SECRETS_KEYS) };
}
