import { parseArgs } from 'node:util';
import { loadConfig } from '../config.ts';
import { connect } from '../db/client.ts';
import { migrateControlPlane } from '../db/migrate.ts';
import { createPlatformAdmin } from './service.ts';
import { newTotpSecret, totpUri } from './totp.ts';

const { values } = parseArgs({
  options: { email: { type: 'string' }, password: { type: 'string' }, name: { type: 'string' } },
});
if (!values.email || !values.password || values.password.length < 12) {
  console.error(
    'usage: npm run admin:create -- --email <email> --password <12+ chars> [--name <display name>]',
  );
  process.exit(2);
}
const config = loadConfig();
await migrateControlPlane(config.DATABASE_URL);
const { db, pool } = connect(config.DATABASE_URL);
const totpSecret = newTotpSecret();
const admin = await createPlatformAdmin(
  { db, config },
  {
    email: values.email,
    password: values.password,
    display_name: values.name ?? 'Platform admin',
    totpSecret,
  },
);
await pool.end();
console.log(`created platform admin ${admin.email}
TOTP secret (add it to an authenticator app now; it is not shown again): ${totpSecret}
otpauth URI: ${totpUri(totpSecret, admin.email)}`);
