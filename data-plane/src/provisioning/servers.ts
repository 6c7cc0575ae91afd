import { quoteIdent } from '@amanat/kit/postgres/test-databases';
import pg from 'pg';

export { quoteIdent };

/** A PostgreSQL server the provisioner administers. */
export interface ServerConfig {
  /** Superuser (or CREATEROLE + CREATEDB) URL; its database part is ignored. */
  adminUrl: string;
  /**
   * Host (and port) data planes use to reach this server, when it differs from the admin
   * URL's: for example the in-cluster Service name while the provisioner runs elsewhere.
   */
  runtimeHost?: string;
}

/** Quotes a string literal for statements that take no bind parameters (DDL, COPY). */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** Named servers; `default` always exists. Database mode may place a tenant on any of them. */
export class Servers {
  readonly #servers: Map<string, ServerConfig>;

  constructor(defaultServer: ServerConfig, others: Record<string, ServerConfig> = {}) {
    this.#servers = new Map([['default', defaultServer], ...Object.entries(others)]);
  }

  names(): string[] {
    return [...this.#servers.keys()];
  }

  has(name: string): boolean {
    return this.#servers.has(name);
  }

  #config(name: string): ServerConfig {
    const server = this.#servers.get(name);
    if (!server) throw new Error(`no PostgreSQL server named ${JSON.stringify(name)} is configured`);
    return server;
  }

  adminUrl(server: string, database: string): string {
    const url = new URL(this.#config(server).adminUrl);
    url.pathname = `/${database}`;
    return url.toString();
  }

  /** The connection URL a data plane gets; the password is URL-safe by construction. */
  runtimeUrl(server: string, database: string, user: string, password: string): string {
    const config = this.#config(server);
    const url = new URL(config.adminUrl);
    if (config.runtimeHost) url.host = config.runtimeHost;
    url.username = user;
    url.password = password;
    url.pathname = `/${database}`;
    url.search = '';
    return url.toString();
  }

  /** A connected admin client on one database of one server; the caller ends it. */
  async connectAdmin(server: string, database: string): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.adminUrl(server, database) });
    await client.connect();
    return client;
  }

  /** A short-lived admin connection to one database of one server. */
  async withAdmin<T>(server: string, database: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = await this.connectAdmin(server, database);
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  }
}

/** Runs `fn` in a transaction on `client`, rolling back on any error. */
export async function inTransaction<T>(client: pg.Client, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

export async function roleExists(client: pg.Client, role: string): Promise<boolean> {
  const result = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
  return result.rowCount === 1;
}

export async function databaseExists(client: pg.Client, database: string): Promise<boolean> {
  const result = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
  return result.rowCount === 1;
}

export async function schemaExists(client: pg.Client, schema: string): Promise<boolean> {
  const result = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
  return result.rowCount === 1;
}

/**
 * Creates a role unless it exists, and reports whether it did. A concurrent provisioner
 * creating the same role is not an error: roles are cluster-wide, so the race is real.
 */
export async function ensureRole(client: pg.Client, role: string, attributes: string): Promise<boolean> {
  if (await roleExists(client, role)) {
    await client.query(`ALTER ROLE ${quoteIdent(role)} ${attributes}`);
    return false;
  }
  try {
    await client.query(`CREATE ROLE ${quoteIdent(role)} ${attributes}`);
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === '42710') return false;
    throw error;
  }
}

export async function ensureDatabase(client: pg.Client, database: string, owner?: string): Promise<boolean> {
  if (await databaseExists(client, database)) return false;
  try {
    await client.query(
      `CREATE DATABASE ${quoteIdent(database)}${owner ? ` OWNER ${quoteIdent(owner)}` : ''}`,
    );
    return true;
  } catch (error) {
    // 42P04 duplicate_database; 23505 when two CREATE DATABASE race on the catalog index.
    const code = (error as { code?: string }).code;
    if (code === '42P04' || code === '23505') return false;
    throw error;
  }
}
