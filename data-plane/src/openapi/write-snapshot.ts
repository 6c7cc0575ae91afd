import { writeFile } from 'node:fs/promises';
import { openApiDocument, snapshotPath } from './snapshot.ts';

await writeFile(snapshotPath, `${JSON.stringify(await openApiDocument(), null, 2)}\n`);
console.log(`wrote ${snapshotPath}`);
