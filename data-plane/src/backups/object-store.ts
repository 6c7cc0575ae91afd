import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

export interface StoredObject {
  key: string;
  size: number;
  lastModified: Date;
}

/**
 * Where backups live. Keys are slash-separated relative paths (`tenants/<id>/<time>.tar.gz`);
 * both implementations refuse the same bad keys, so a key that works on a laptop works in S3.
 */
export interface ObjectStore {
  /** Writes the whole body under key, replacing what was there; readers never see a partial object. */
  put(key: string, body: Readable | Buffer): Promise<void>;
  /** Rejects with ObjectNotFoundError when no object has this key. */
  get(key: string): Promise<Readable>;
  /** Every object whose key starts with prefix, across all pages, sorted by key. */
  list(prefix: string): Promise<StoredObject[]>;
  /** Deleting a key that does not exist succeeds, as in S3. */
  delete(key: string): Promise<void>;
  /** Where the objects go, for logs: never a credential. */
  describe(): string;
}

export class ObjectNotFoundError extends Error {
  override name = 'ObjectNotFoundError';
  constructor(
    readonly key: string,
    store: string,
  ) {
    super(`no object ${key} in ${store}`);
  }
}

/** FileObjectStore writes in progress under this name; keys may not use it, so listings never show one. */
const PARTIAL = '.partial-';

function keyProblem(key: string, allowTrailingSlash: boolean): string | undefined {
  if (key.includes('\0')) return 'contains NUL';
  if (key.startsWith('/')) return 'is absolute';
  const segments = key.split('/');
  if (allowTrailingSlash && segments.at(-1) === '') segments.pop();
  for (const segment of segments) {
    if (segment === '') return 'has an empty segment';
    if (segment === '.' || segment === '..') return `has a "${segment}" segment`;
    if (segment.startsWith(PARTIAL))
      return `has a segment starting with "${PARTIAL}", reserved for writes in progress`;
  }
  return undefined;
}

function checkKey(key: string): void {
  const problem = key === '' ? 'is empty' : keyProblem(key, false);
  if (problem) throw new Error(`invalid object key ${JSON.stringify(key)}: it ${problem}`);
}

function checkPrefix(prefix: string): void {
  const problem = prefix === '' ? undefined : keyProblem(prefix, true);
  if (problem) throw new Error(`invalid object key prefix ${JSON.stringify(prefix)}: it ${problem}`);
}

function isErrno(error: unknown, ...codes: string[]): boolean {
  return error instanceof Error && codes.includes((error as NodeJS.ErrnoException).code ?? '');
}

/**
 * A directory tree: key `a/b/c` is the file `<root>/a/b/c`. Unlike S3, `a/b` and `a/b/c` cannot
 * both exist (a path is a file or a directory); backup keys never collide that way.
 */
export class FileObjectStore implements ObjectStore {
  readonly root: string;

  constructor(rootDir: string) {
    this.root = resolve(rootDir);
  }

  private path(key: string): string {
    checkKey(key);
    return join(this.root, ...key.split('/'));
  }

  /**
   * Written to a temporary file beside the target, flushed to disk, then renamed over it,
   * and the directory flushed too: after a crash the key holds the old object or the new
   * one, never a prefix of it. A crash can leave a `.partial-*` file, which list ignores.
   */
  async put(key: string, body: Readable | Buffer): Promise<void> {
    const target = this.path(key);
    const directory = dirname(target);
    await mkdir(directory, { recursive: true });
    const partial = join(directory, `${PARTIAL}${randomBytes(8).toString('hex')}`);
    // Opened before piping: a stream that opens lazily could create the file after a failed
    // source had already made us remove it, leaving a stray partial file behind.
    const file = await open(partial, 'wx');
    try {
      await pipeline(
        Buffer.isBuffer(body) ? Readable.from([body]) : body,
        file.createWriteStream({ flush: true }),
      );
      await rename(partial, target);
    } catch (error) {
      await file.close().catch(() => undefined);
      await rm(partial, { force: true });
      throw error;
    }
    const handle = await open(directory, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async get(key: string): Promise<Readable> {
    const path = this.path(key);
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR')) throw new ObjectNotFoundError(key, this.describe());
      throw error;
    }
    if (!(await handle.stat()).isFile()) {
      await handle.close();
      throw new ObjectNotFoundError(key, this.describe());
    }
    return handle.createReadStream();
  }

  async list(prefix: string): Promise<StoredObject[]> {
    checkPrefix(prefix);
    // Only the directory the prefix is inside can hold matches: `tenants/a` → `tenants/`.
    const base = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    const found: StoredObject[] = [];
    const walk = async (relative: string): Promise<void> => {
      let entries: Dirent[];
      try {
        entries = await readdir(join(this.root, relative), { withFileTypes: true });
      } catch (error) {
        if (isErrno(error, 'ENOENT', 'ENOTDIR')) return;
        throw error;
      }
      for (const entry of entries) {
        if (entry.name.startsWith(PARTIAL)) continue;
        const key = `${relative}${entry.name}`;
        if (entry.isDirectory()) {
          if (`${key}/`.startsWith(prefix)) await walk(`${key}/`);
        } else if (entry.isFile() && key.startsWith(prefix)) {
          // A delete racing the walk is not an error: the object is simply not listed.
          const info = await stat(join(this.root, key)).catch((error: unknown) => {
            if (isErrno(error, 'ENOENT')) return undefined;
            throw error;
          });
          if (info) found.push({ key, size: info.size, lastModified: info.mtime });
        }
      }
    };
    await walk(base);
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  describe(): string {
    return `file://${this.root}`;
  }
}

export interface S3ObjectStoreOptions {
  bucket: string;
  /** Prepended to every key, so one bucket can hold more than backups; a trailing `/` is implied. */
  prefix?: string;
  /** An S3-compatible service; AWS itself when absent. */
  endpoint?: string;
  region: string;
  /** The SDK's default credential chain (environment, profile, instance role) when absent. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** `https://endpoint/bucket/key` rather than `https://bucket.endpoint/key`; most S3-compatible services need it. */
  forcePathStyle?: boolean;
  /** Keys per ListObjectsV2 request; S3 caps it at 1000. */
  pageSize?: number;
}

/** Uploads stream in 5 MiB parts (multipart above that), so a backup is never held in memory whole. */
export class S3ObjectStore implements ObjectStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly endpoint: string | undefined;
  private readonly pageSize: number;

  constructor(options: S3ObjectStoreOptions) {
    const prefix = options.prefix ? options.prefix.replace(/\/?$/, '/') : '';
    checkPrefix(prefix);
    this.bucket = options.bucket;
    this.prefix = prefix;
    this.endpoint = options.endpoint;
    this.pageSize = options.pageSize ?? 1000;
    this.client = new S3Client({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
      forcePathStyle: options.forcePathStyle ?? false,
    });
  }

  private objectKey(key: string): string {
    checkKey(key);
    return `${this.prefix}${key}`;
  }

  async put(key: string, body: Readable | Buffer): Promise<void> {
    // A failed upload aborts its multipart upload: S3 shows the object complete or not at all.
    await new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: this.objectKey(key), Body: body },
    }).done();
  }

  async get(key: string): Promise<Readable> {
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }),
      );
      // In Node.js the SDK's body is an http.IncomingMessage.
      return response.Body as Readable;
    } catch (error) {
      if (error instanceof NoSuchKey) throw new ObjectNotFoundError(key, this.describe());
      throw error;
    }
  }

  async list(prefix: string): Promise<StoredObject[]> {
    checkPrefix(prefix);
    const found: StoredObject[] = [];
    let continuationToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: `${this.prefix}${prefix}`,
          MaxKeys: this.pageSize,
          ContinuationToken: continuationToken,
        }),
      );
      for (const object of page.Contents ?? []) {
        // Keys ending in `/` are the empty "folder" markers consoles create, not objects.
        if (object.Key === undefined || object.Key.endsWith('/')) continue;
        found.push({
          key: object.Key.slice(this.prefix.length),
          size: object.Size ?? 0,
          lastModified: object.LastModified ?? new Date(0),
        });
      }
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken);
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
  }

  describe(): string {
    return `s3://${this.bucket}/${this.prefix}${this.endpoint ? ` at ${this.endpoint}` : ''}`;
  }
}

const URL_FORMS = 'file:///absolute/path or s3://bucket/optional/prefix';

/**
 * The store a backup URL names: `file:///abs/path` or `s3://bucket/optional/prefix`. S3
 * settings come from the environment, never the URL, so the URL is safe to log:
 * BACKUP_S3_ENDPOINT (an S3-compatible service; AWS when unset), BACKUP_S3_REGION
 * (`us-east-1`), BACKUP_S3_ACCESS_KEY_ID with BACKUP_S3_SECRET_ACCESS_KEY (else the SDK's
 * default chain), BACKUP_S3_FORCE_PATH_STYLE (`true`/`false`; `true` when an endpoint is set).
 */
export function objectStoreFromUrl(url: string, env: Record<string, string | undefined>): ObjectStore {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'file') {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`backup store URL ${JSON.stringify(url)} is not a valid URL; expected ${URL_FORMS}`);
    }
    if (parsed.host !== '' && parsed.host !== 'localhost') {
      throw new Error(
        `backup store URL ${JSON.stringify(url)} names host "${parsed.host}"; a file URL needs three slashes: file:///absolute/path`,
      );
    }
    if (parsed.search || parsed.hash) {
      throw new Error(
        `backup store URL ${JSON.stringify(url)} has a query or fragment; percent-encode "?" and "#" in paths`,
      );
    }
    return new FileObjectStore(fileURLToPath(parsed));
  }
  if (scheme === 's3') {
    const match = /^s3:\/\/([^/?#@]*)(?:\/([^?#]*))?$/i.exec(url);
    if (!match) {
      // It may carry credentials (s3://key:secret@bucket), so it is not repeated here.
      throw new Error(
        `backup store URL is not of the form s3://bucket/optional/prefix (no credentials, query or fragment; keys come from BACKUP_S3_*)`,
      );
    }
    const bucket = match[1] ?? '';
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      throw new Error(
        `backup store URL ${JSON.stringify(url)} names bucket "${bucket}"; S3 bucket names are 3–63 lowercase letters, digits, "." and "-"`,
      );
    }
    const prefix = match[2] ?? '';
    const prefixProblem = prefix === '' ? undefined : keyProblem(prefix, true);
    if (prefixProblem)
      throw new Error(`backup store URL ${JSON.stringify(url)} has a key prefix that ${prefixProblem}`);
    return new S3ObjectStore({ bucket, prefix, ...s3Settings(env) });
  }
  throw new Error(
    scheme
      ? `backup store URL scheme "${scheme}:" is not supported; expected ${URL_FORMS}`
      : `backup store URL ${JSON.stringify(url)} has no scheme; expected ${URL_FORMS}`,
  );
}

function s3Settings(
  env: Record<string, string | undefined>,
): Omit<S3ObjectStoreOptions, 'bucket' | 'prefix'> {
  const endpoint = env.BACKUP_S3_ENDPOINT || undefined;
  if (endpoint && !/^https?:\/\/[^/]/.test(endpoint)) {
    throw new Error(`BACKUP_S3_ENDPOINT must be an http:// or https:// URL, got ${JSON.stringify(endpoint)}`);
  }
  const accessKeyId = env.BACKUP_S3_ACCESS_KEY_ID || undefined;
  const secretAccessKey = env.BACKUP_S3_SECRET_ACCESS_KEY || undefined;
  if (Boolean(accessKeyId) !== Boolean(secretAccessKey)) {
    throw new Error(
      `${accessKeyId ? 'BACKUP_S3_SECRET_ACCESS_KEY' : 'BACKUP_S3_ACCESS_KEY_ID'} is required when ${accessKeyId ? 'BACKUP_S3_ACCESS_KEY_ID' : 'BACKUP_S3_SECRET_ACCESS_KEY'} is set`,
    );
  }
  const pathStyle = env.BACKUP_S3_FORCE_PATH_STYLE || undefined;
  if (pathStyle !== undefined && pathStyle !== 'true' && pathStyle !== 'false') {
    throw new Error(`BACKUP_S3_FORCE_PATH_STYLE must be true or false, got ${JSON.stringify(pathStyle)}`);
  }
  return {
    region: env.BACKUP_S3_REGION || 'us-east-1',
    ...(endpoint ? { endpoint } : {}),
    ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey } } : {}),
    forcePathStyle: pathStyle === undefined ? endpoint !== undefined : pathStyle === 'true',
  };
}
