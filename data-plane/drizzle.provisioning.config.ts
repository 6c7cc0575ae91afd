import { defineConfig } from 'drizzle-kit';

/** The provisioner's fleet database (placements, backup logs, migration runs). */
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/provisioning/registry-schema.ts',
  out: './drizzle-fleet',
});
