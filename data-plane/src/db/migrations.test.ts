import { readdir, readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { dataPlaneMigrationsFolder } from './migrate.ts';

it('never names a schema, so the same migrations build a schema-mode tenant in its own schema', async () => {
  const files = (await readdir(dataPlaneMigrationsFolder)).filter((name) => name.endsWith('.sql'));
  expect(files.length).toBeGreaterThan(3);
  for (const file of files) {
    const text = await readFile(`${dataPlaneMigrationsFolder}/${file}`, 'utf8');
    // drizzle-kit writes REFERENCES "public"."table"; remove the qualifier by hand.
    expect(text, file).not.toMatch(/"public"\./);
  }
});
