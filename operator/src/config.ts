import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Static, Type } from 'typebox';

/** The operator's settings, from environment variables (or `<NAME>_FILE` mounts). */
export const OperatorEnv = Type.Object({
  PROVISIONER_ADMIN_URL: Type.String({
    pattern: '^postgres(ql)?://',
    description: 'admin URL of the default database server',
  }),
  PROVISIONER_RUNTIME_HOST: Type.Optional(
    Type.String({ minLength: 1, description: 'host data planes reach the default server on' }),
  ),
  PROVISIONER_SERVERS: Type.Optional(
    Type.String({ minLength: 2, description: 'JSON: further named servers, {"name": {"adminUrl": …}}' }),
  ),
  BACKUP_STORE_URL: Type.String({
    default: pathToFileURL(join(process.cwd(), '.data', 'backups')).href,
    description: 'where backups go: file:///… or s3://bucket/prefix',
  }),
  BACKUP_NAMESPACE: Type.String({
    default: 'amanat-system',
    description:
      "namespace of the tenants' backup CronJobs: the operator's own, where the provisioner Secret is",
  }),
  PROVISIONER_SECRET: Type.String({
    default: 'amanat-provisioner',
    description: 'the Secret (in BACKUP_NAMESPACE) the backup CronJobs take PROVISIONER_ADMIN_URL from',
  }),
  DATA_PLANE_IMAGE: Type.String({
    default: 'amanat/data-plane',
    minLength: 1,
    description: 'the data-plane image repository (the tag is the Tenant’s spec.dataPlane.version)',
  }),
  DATA_PLANE_SMTP_URL: Type.Optional(
    Type.String({
      pattern: '^smtps?://[^/]',
      description:
        "the SMTP server every shop's email goes through, as each data plane's SMTP_URL (smtp:// or smtps://, credentials percent-encoded; give it from a Secret); without it shops send no email",
    }),
  ),
  CONTROL_PLANE_URL: Type.String({
    pattern: '^https?://',
    description: "the control plane's URL, for data planes",
  }),
  CONTROL_PLANE_JWKS: Type.String({
    minLength: 2,
    description: "the control plane's public signing keys (JWKS JSON)",
  }),
  ROUTER_NAMESPACE: Type.String({ default: 'amanat-system', description: 'namespace of the router pods' }),
  ROUTER_POD_LABELS: Type.String({
    default: 'app.kubernetes.io/component=router',
    description: 'k=v,… selecting the router pods',
  }),
  DATABASE_CIDRS: Type.String({
    minLength: 1,
    description: 'CIDRs of the database servers, comma-separated (network policy egress)',
  }),
  DATABASE_PORT: Type.Integer({
    default: 5432,
    minimum: 1,
    maximum: 65535,
    description: 'database port (network policy egress)',
  }),
  LEASE_NAMESPACE: Type.String({
    default: 'amanat-system',
    description: 'namespace of the leader-election Lease',
  }),
  LEASE_NAME: Type.String({ default: 'amanat-operator', description: 'name of the leader-election Lease' }),
  POD_NAME: Type.Optional(
    Type.String({ minLength: 1, description: 'this replica’s identity in the Lease (the pod name)' }),
  ),
  WORKERS: Type.Integer({ default: 4, minimum: 1, maximum: 64, description: 'tenants reconciled at once' }),
  RESYNC_SECONDS: Type.Integer({
    default: 300,
    minimum: 5,
    description: 'every tenant is reconciled at least this often',
  }),
  HOST: Type.String({ default: '0.0.0.0', description: 'interface for /metrics, /healthz and /readyz' }),
  PORT: Type.Integer({
    default: 8081,
    minimum: 0,
    maximum: 65535,
    description: 'port for /metrics, /healthz and /readyz',
  }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace'].map((level) => Type.Literal(level)),
    { default: 'info', description: 'pino level' },
  ),
});

export type OperatorConfig = Static<typeof OperatorEnv>;

/** `k=v,k2=v2` as a label map. */
export function parseLabels(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split(',')
      .map((pair) => pair.trim())
      .filter(Boolean)
      .map((pair) => {
        const at = pair.indexOf('=');
        if (at <= 0) throw new Error(`ROUTER_POD_LABELS: "${pair}" is not key=value`);
        return [pair.slice(0, at), pair.slice(at + 1)];
      }),
  );
}
