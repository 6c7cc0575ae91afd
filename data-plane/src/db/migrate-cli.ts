import { migrateDataPlane } from './migrate.ts';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('DATABASE_URL is required: the data-plane database to migrate.');
  process.exit(1);
}
await migrateDataPlane(url);
console.log('data-plane database is at the latest migration');
