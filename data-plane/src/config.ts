import { ConfigError, loadEnv } from '@amanat/kit/config/env';
import { isSmtpUrl } from '@amanat/kit/mail/smtp-url';
import { Keyring } from '@amanat/kit/secrets/keyring';
import { type Static, Type } from 'typebox';

/**
 * The data plane's configuration contract: environment variables, each also accepted as a
 * mounted file through `<NAME>_FILE`. docs/data-plane-contract.md documents every one;
 * the operator and the local runtime both start the data plane from it.
 */
export const DataPlaneConfigSchema = Type.Object({
  TENANT_ID: Type.String({
    pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$',
    description: "the tenant's id in the control plane (lower-case uuid)",
  }),
  TENANT_SLUG: Type.String({
    pattern: '^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$',
    description: "the tenant's slug",
  }),
  DATABASE_URL: Type.String({
    pattern: '^postgres(ql)?://',
    description: "PostgreSQL URL with the tenant's runtime credentials",
  }),
  PUBLIC_HOSTS: Type.String({
    pattern: '^[a-z0-9.-]+(:[0-9]+)?(,[a-z0-9.-]+(:[0-9]+)?)*$',
    description: 'comma-separated hostnames the shop is served on; the first is canonical',
  }),
  PUBLIC_SCHEME: Type.Union([Type.Literal('https'), Type.Literal('http')], {
    default: 'https',
    description:
      "scheme of the shop's absolute URLs (canonical links, sitemap, email links); http only behind the local platform's router",
  }),
  CONTROL_PLANE_URL: Type.String({ pattern: '^https?://', description: "the control plane's base URL" }),
  CONTROL_PLANE_JWKS: Type.String({
    minLength: 2,
    description: "JSON Web Key Set of the control plane's public signing keys (staff tokens)",
  }),
  PAYMENT_EVIDENCE_SECRET: Type.String({
    minLength: 32,
    description: 'HMAC-SHA256 key that payment-evidence adapters sign with (32+ characters)',
  }),
  DELIVERY_LINK_SECRET: Type.String({
    minLength: 32,
    description: 'HMAC key for signed digital-delivery links and marketing-email unsubscribe links',
  }),
  SECRETS_KEYS: Type.String({
    pattern: '^[A-Za-z0-9_-]{1,32}:[A-Za-z0-9+/=]{43,44}(,[A-Za-z0-9_-]{1,32}:[A-Za-z0-9+/=]{43,44})*$',
    description: 'id:base64(32-byte key) list sealing secrets at rest (webhook secrets); first seals',
  }),
  HOST: Type.String({ default: '127.0.0.1', minLength: 1, description: 'interface to listen on' }),
  PORT: Type.Integer({ default: 8080, minimum: 0, maximum: 65535, description: 'TCP port' }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
    { default: 'info', description: 'pino log level' },
  ),
  BODY_LIMIT_BYTES: Type.Integer({
    default: 65_536,
    minimum: 1024,
    description: 'largest JSON request body',
  }),
  IMPORT_LIMIT_BYTES: Type.Integer({ default: 10_485_760, minimum: 1024, description: 'largest CSV import' }),
  TRUST_PROXY: Type.Boolean({ default: false, description: 'trust X-Forwarded-* from the router' }),
  PAYMENT_WINDOW_SECONDS: Type.Integer({
    default: 1800,
    minimum: 60,
    description: 'how long an order waits for payment before it expires and its stock is released',
  }),
  BUYER_SESSION_TTL_SECONDS: Type.Integer({
    default: 30 * 24 * 3600,
    minimum: 300,
    description: 'buyer session lifetime',
  }),
  WEBHOOKS_ALLOW_HTTP_LOOPBACK: Type.Boolean({
    default: false,
    description:
      'let outbound webhooks use http:// to loopback addresses (tests and local development only; otherwise https only)',
  }),
  SHOP_SUSPENDED: Type.Boolean({
    default: false,
    description:
      'serve the "shop unavailable" page (503) for every storefront page and refuse checkout (the tenant is suspended)',
  }),
  MIGRATE_ON_START: Type.Boolean({
    default: false,
    description:
      'apply pending migrations at start (standalone use only; provisioned tenants are migrated by the provisioner)',
  }),
  TELEGRAM_BOT_TOKEN: Type.Optional(
    Type.String({
      pattern: '^[0-9]{1,20}:[A-Za-z0-9_-]{20,100}$',
      description: "the shop's Telegram bot token (per-tenant secret); signs buyers in from the Mini App",
    }),
  ),
  SMTP_URL: Type.Optional(
    Type.String({
      pattern: '^smtps?://[^\\s]+$',
      description:
        "smtp://[user:password@]host[:port] or smtps://…, the SMTP server that sends the shop's email (a secret: credentials may be in it); without it the shop sends no email",
    }),
  ),
  MAIL_FROM: Type.Optional(
    Type.String({
      pattern:
        '^[^\\s@<>()",;:]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$',
      maxLength: 254,
      description:
        "the sender address of the shop's email (default orders@<first of PUBLIC_HOSTS, without port>)",
    }),
  ),
  TELEGRAM_INIT_DATA_MAX_AGE_SECONDS: Type.Integer({
    default: 3600,
    minimum: 60,
    maximum: 86_400,
    description: 'how old (by auth_date) Mini App initData may be and still sign a buyer in',
  }),
});

export type DataPlaneConfig = Static<typeof DataPlaneConfigSchema> & {
  keyring: Keyring;
  publicHosts: string[];
  canonicalHost: string;
  /** The canonical host without its port: what email addresses and Message-IDs end with. */
  canonicalHostname: string;
  /** PUBLIC_SCHEME :// the first of PUBLIC_HOSTS: where every absolute link to the shop points. */
  publicOrigin: string;
  jwks: { keys: Record<string, unknown>[] };
  /** The sender address of the shop's email: MAIL_FROM, or orders@ the canonical host. */
  mailFrom: string;
};

/** The message names the variable only: the URL may carry the server's password. */
function checkSmtpUrl(url: string | undefined): void {
  if (url === undefined) return;
  if (!isSmtpUrl(url)) {
    throw new ConfigError(
      'SMTP_URL is invalid (expected smtp://[user:password@]host[:port] or smtps://…, user and password percent-encoded)',
    );
  }
}

export function loadDataPlaneConfig(env: NodeJS.ProcessEnv = process.env): DataPlaneConfig {
  const raw = loadEnv(DataPlaneConfigSchema, env);
  let jwks: { keys: Record<string, unknown>[] };
  try {
    jwks = JSON.parse(raw.CONTROL_PLANE_JWKS);
    if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) throw new Error('no keys');
  } catch {
    throw new ConfigError(
      'CONTROL_PLANE_JWKS is invalid (expected a JSON Web Key Set with at least one key)',
    );
  }
  checkSmtpUrl(raw.SMTP_URL);
  const publicHosts = raw.PUBLIC_HOSTS.split(',');
  const canonicalHost = publicHosts[0] as string;
  const canonicalHostname = canonicalHost.replace(/:[0-9]+$/, '');
  return {
    ...raw,
    keyring: Keyring.parse(raw.SECRETS_KEYS),
    publicHosts,
    canonicalHost,
    canonicalHostname,
    publicOrigin: `${raw.PUBLIC_SCHEME}://${canonicalHost}`,
    jwks,
    mailFrom: raw.MAIL_FROM ?? `orders@${canonicalHostname}`,
  };
}
