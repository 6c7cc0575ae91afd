// Started by embedded.test.ts as a separate process that is then killed with SIGKILL.
import { startEmbeddedPostgres } from './embedded.ts';

const dataDir = process.argv[2] as string;
await startEmbeddedPostgres({ dataDir, persistent: false });
console.log('ready');
setInterval(() => {}, 1000);
