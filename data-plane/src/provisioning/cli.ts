/**
 * `npm run provisioner -w data-plane -- <command> [options]`: the provisioner by hand, for
 * operators and runbooks. Reports (credentials included, when a password was set) go to
 * stdout as JSON: that is the caller's copy, and nothing else records them. Progress goes
 * to stderr. Exit codes: 0 done, 2 bad usage or refused input, 1 failure.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadEnv } from '@amanat/kit/config/env';
import { Type } from 'typebox';
import { takeBackup } from '../backups/backup.ts';
import { objectStoreFromUrl } from '../backups/object-store.ts';
import { pruneTenantBackups } from '../backups/prune.ts';
import { discardAside, restoreBackup, undoRestore } from '../backups/restore.ts';
import { moveTenant } from './move.ts';
import { ISOLATION_MODES, type IsolationMode } from './names.ts';
import { ProvisionError, Provisioner } from './provisioner.ts';

const USAGE = `usage: provisioner <command> [options]
  provision     --tenant <uuid> --slug <slug> --mode shared|schema|database [--server <name>] [--rotate]
  rotate        --tenant <uuid>
  migrate       --tenant <uuid>
  migrate-fleet
  move          --tenant <uuid> --mode schema|database [--server <name>]
  backup        --tenant <uuid>
  restore       --tenant <uuid> --key <object key> [--mode <mode>] [--server <name>]
  undo-restore  --tenant <uuid> --restore-id <id>
  discard-aside --tenant <uuid> --restore-id <id>
  prune         --tenant <uuid>
  deprovision   --tenant <uuid>
  list
environment: PROVISIONER_ADMIN_URL (required), PROVISIONER_RUNTIME_HOST, PROVISIONER_SERVERS (JSON),
  BACKUP_STORE_URL (file:///… or s3://bucket/prefix; default file://$PWD/.data/backups), BACKUP_S3_*`;

const EnvSchema = Type.Object({
  PROVISIONER_ADMIN_URL: Type.String({
    pattern: '^postgres(ql)?://',
    description: 'admin URL of the default server',
  }),
  PROVISIONER_RUNTIME_HOST: Type.Optional(Type.String({ minLength: 1 })),
  PROVISIONER_SERVERS: Type.Optional(
    Type.String({ minLength: 2, description: 'JSON: {"name": {"adminUrl": …}}' }),
  ),
  BACKUP_STORE_URL: Type.String({ default: pathToFileURL(join(process.cwd(), '.data', 'backups')).href }),
});

function fail(message: string, code = 2): never {
  process.stderr.write(`provisioner: ${message}\n`);
  process.exit(code);
}

async function main() {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      tenant: { type: 'string' },
      slug: { type: 'string' },
      mode: { type: 'string' },
      server: { type: 'string' },
      key: { type: 'string' },
      'restore-id': { type: 'string' },
      rotate: { type: 'boolean', default: false },
    },
  });
  const [command] = positionals;
  if (!command) fail(USAGE);
  const env = loadEnv(EnvSchema, process.env);
  let servers: Record<string, { adminUrl: string; runtimeHost?: string }> | undefined;
  try {
    servers = env.PROVISIONER_SERVERS ? JSON.parse(env.PROVISIONER_SERVERS) : undefined;
  } catch {
    fail('PROVISIONER_SERVERS is not valid JSON');
  }
  const mode = values.mode as IsolationMode | undefined;
  if (mode && !ISOLATION_MODES.includes(mode)) fail(`--mode must be one of ${ISOLATION_MODES.join(', ')}`);
  const need = (name: 'tenant' | 'slug' | 'mode' | 'key' | 'restore-id'): string =>
    values[name] ?? fail(`${command} needs --${name}`);

  const provisioner = await Provisioner.open({
    adminUrl: env.PROVISIONER_ADMIN_URL,
    ...(env.PROVISIONER_RUNTIME_HOST ? { runtimeHost: env.PROVISIONER_RUNTIME_HOST } : {}),
    ...(servers ? { servers } : {}),
  });
  const store = () => objectStoreFromUrl(env.BACKUP_STORE_URL, process.env);
  const server = values.server ? { server: values.server } : {};
  try {
    let result: unknown;
    switch (command) {
      case 'provision':
        result = await provisioner.provision(
          { id: need('tenant'), slug: need('slug') },
          need('mode') as IsolationMode,
          {
            ...server,
            rotateCredentials: values.rotate,
          },
        );
        break;
      case 'rotate':
        result = await provisioner.rotateCredentials(need('tenant'));
        break;
      case 'migrate':
        result = await provisioner.migrate(need('tenant'));
        break;
      case 'migrate-fleet':
        result = await provisioner.migrateFleet((step) =>
          process.stderr.write(
            `${step.done + step.failed}/${step.total} ${step.tenantId} ${step.error ? `failed: ${step.error}` : 'done'}\n`,
          ),
        );
        break;
      case 'move':
        result = await moveTenant(provisioner, need('tenant'), need('mode') as IsolationMode, {
          ...server,
          onSwitch: async () => {
            process.stderr.write('switched: restart the data plane with the credentials printed below\n');
          },
          onStep: (step) => {
            process.stderr.write(`${step}\n`);
          },
        });
        break;
      case 'backup':
        result = await takeBackup(provisioner, store(), need('tenant'), { reason: 'manual' });
        break;
      case 'restore':
        result = await restoreBackup(provisioner, store(), {
          tenantId: need('tenant'),
          key: need('key'),
          ...(mode ? { mode } : {}),
          ...server,
        });
        break;
      case 'undo-restore':
        await undoRestore(provisioner, need('tenant'), need('restore-id'));
        result = { undone: values['restore-id'] };
        break;
      case 'discard-aside':
        await discardAside(provisioner, need('tenant'), need('restore-id'));
        result = { discarded: values['restore-id'] };
        break;
      case 'prune':
        result = await pruneTenantBackups(provisioner, store(), need('tenant'));
        break;
      case 'deprovision': {
        const tenantId = need('tenant');
        result = await provisioner.deprovision(tenantId, (placement) =>
          takeBackup(provisioner, store(), tenantId, { placement, reason: 'final' }),
        );
        break;
      }
      case 'list':
        result = await provisioner.list();
        break;
      default:
        fail(`unknown command ${JSON.stringify(command)}\n${USAGE}`);
    }
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } catch (error) {
    if (error instanceof ProvisionError) fail(error.message);
    fail(error instanceof Error ? error.message : String(error), 1);
  } finally {
    await provisioner.close();
  }
}

await main();
