import { migrateControlPlane } from './migrate.ts';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('DATABASE_URL is required: the control-plane database to migrate.');
  process.exit(1);
}
await migrateControlPlane(url);
console.log('control-plane database is at the latest migration');
