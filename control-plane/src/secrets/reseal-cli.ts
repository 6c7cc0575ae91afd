import { loadConfig } from '../config.ts';
import { connect } from '../db/client.ts';
import { resealSecrets } from './reseal.ts';

const config = loadConfig();
const { db, pool } = connect(config.DATABASE_URL);
const { checked, resealed } = await resealSecrets({ db, config });
await pool.end();
console.log(`checked ${checked} accounts with sealed secrets; re-sealed ${resealed} with the active key`);
