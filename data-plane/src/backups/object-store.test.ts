import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { startVersityGateway, type VersityGateway } from '@amanat/kit/testing/versitygw';
import { HeadObjectCommand, ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FileObjectStore,
  ObjectNotFoundError,
  type ObjectStore,
  objectStoreFromUrl,
  S3ObjectStore,
} from './object-store.ts';

const MiB = 1024 * 1024;

let gateway: VersityGateway;
const dirs: string[] = [];
let buckets = 0;

beforeAll(async () => {
  gateway = await startVersityGateway();
});

afterAll(async () => {
  await gateway?.stop();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The buffer in 64 KiB chunks, as a backup archive arrives: a stream of unknown length. */
function streamOf(data: Buffer): Readable {
  return Readable.from(
    (function* () {
      for (let offset = 0; offset < data.length; offset += 64 * 1024)
        yield data.subarray(offset, offset + 64 * 1024);
    })(),
  );
}

function s3Client(): S3Client {
  return new S3Client({
    endpoint: gateway.endpoint,
    region: gateway.region,
    forcePathStyle: true,
    credentials: { accessKeyId: gateway.accessKeyId, secretAccessKey: gateway.secretAccessKey },
  });
}

interface Subject {
  store: ObjectStore;
  /** The ETag of an object's stored copy where the store has one, to see how it was uploaded. */
  etag?: (key: string) => Promise<string | undefined>;
  /** Multipart uploads begun and neither completed nor aborted, where the store has them. */
  pendingUploads?: () => Promise<number>;
}

const implementations: { name: string; make: () => Promise<Subject> }[] = [
  {
    name: 'FileObjectStore',
    make: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'amanat-object-store-'));
      dirs.push(dir);
      return { store: new FileObjectStore(dir) };
    },
  },
  {
    name: 'S3ObjectStore (versitygw)',
    make: async () => {
      const bucket = `store-test-${++buckets}`;
      await gateway.createBucket(bucket);
      const store = new S3ObjectStore({
        bucket,
        prefix: 'backups',
        endpoint: gateway.endpoint,
        region: gateway.region,
        credentials: { accessKeyId: gateway.accessKeyId, secretAccessKey: gateway.secretAccessKey },
        forcePathStyle: true,
        // Two keys a page, so every listing below takes several pages.
        pageSize: 2,
      });
      const client = s3Client();
      const etag = async (key: string) =>
        (await client.send(new HeadObjectCommand({ Bucket: bucket, Key: `backups/${key}` }))).ETag;
      const pendingUploads = async () =>
        (await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads?.length ?? 0;
      return { store, etag, pendingUploads };
    },
  },
];

describe.each(implementations)('$name', ({ make }) => {
  let subject: Subject;
  let store: ObjectStore;
  beforeAll(async () => {
    subject = await make();
    store = subject.store;
  });

  it('round-trips a Buffer, and a second put replaces it', async () => {
    await store.put('round/trip.bin', Buffer.from('first'));
    expect((await readAll(await store.get('round/trip.bin'))).toString()).toBe('first');
    await store.put('round/trip.bin', Buffer.from('second, longer'));
    expect((await readAll(await store.get('round/trip.bin'))).toString()).toBe('second, longer');
    expect(await store.list('round/')).toMatchObject([{ key: 'round/trip.bin', size: 14 }]);
  });

  it('round-trips a 12 MiB stream', async () => {
    const data = randomBytes(12 * MiB);
    await store.put('big/archive.tar.gz', streamOf(data));
    const back = await readAll(await store.get('big/archive.tar.gz'));
    expect(back.length).toBe(data.length);
    expect(sha256(back)).toBe(sha256(data));
    // S3 multipart ETags end in the part count: 12 MiB went up as 5 + 5 + 2 MiB parts.
    if (subject.etag) expect(await subject.etag('big/archive.tar.gz')).toMatch(/-3"$/);
  });

  it('lists by key prefix across pages, sorted, with sizes and times', async () => {
    const started = Date.now();
    const keys = ['list/a/1', 'list/a/2', 'list/a/3', 'list/a/sub/4', 'list/ab/1', 'list/b/1', 'list/top'];
    for (const key of keys) await store.put(key, Buffer.from(key));
    const listed = await store.list('list/');
    expect(listed.map((o) => o.key)).toEqual(keys);
    expect(listed.map((o) => o.size)).toEqual(keys.map((k) => k.length));
    for (const { lastModified } of listed) {
      // S3 keeps whole seconds.
      expect(lastModified.getTime()).toBeGreaterThanOrEqual(Math.floor(started / 1000) * 1000);
      expect(lastModified.getTime()).toBeLessThanOrEqual(Date.now());
    }
    expect((await store.list('list/a/')).map((o) => o.key)).toEqual([
      'list/a/1',
      'list/a/2',
      'list/a/3',
      'list/a/sub/4',
    ]);
    // A prefix is a string prefix, not a folder.
    expect((await store.list('list/a')).map((o) => o.key)).toEqual([
      'list/a/1',
      'list/a/2',
      'list/a/3',
      'list/a/sub/4',
      'list/ab/1',
    ]);
    expect(await store.list('list/none/')).toEqual([]);
    expect(await store.list('nothing-here')).toEqual([]);
  });

  it('deletes, and deleting a missing key succeeds', async () => {
    await store.put('gone/x', Buffer.from('x'));
    await store.put('gone/y', Buffer.from('y'));
    await store.delete('gone/x');
    expect((await store.list('gone/')).map((o) => o.key)).toEqual(['gone/y']);
    await expect(store.get('gone/x')).rejects.toThrow(ObjectNotFoundError);
    await store.delete('gone/x');
    await store.delete('never/was');
  });

  it('rejects a get of a missing key with an error naming it', async () => {
    await expect(store.get('missing/key.tar.gz')).rejects.toThrow(
      new ObjectNotFoundError('missing/key.tar.gz', store.describe()),
    );
    await expect(store.get('missing/key.tar.gz')).rejects.toThrow(/^no object missing\/key\.tar\.gz in /);
    // Something under the key as a folder is not an object at the key.
    await store.put('folder/inside', Buffer.from('x'));
    await expect(store.get('folder')).rejects.toThrow(ObjectNotFoundError);
  });

  it('refuses bad keys and prefixes before touching anything', async () => {
    const badKeys: [string, RegExp][] = [
      ['', /is empty/],
      ['/etc/passwd', /is absolute/],
      ['a//b', /empty segment/],
      ['a/', /empty segment/],
      ['../escape', /"\.\." segment/],
      ['a/../../escape', /"\.\." segment/],
      ['a/./b', /"\." segment/],
      ['nul\0byte', /NUL/],
      ['a/.partial-123', /reserved for writes in progress/],
    ];
    for (const [key, problem] of badKeys) {
      const message = new RegExp(
        `^invalid object key ${JSON.stringify(key).replace(/[.\\[\]/]/g, '\\$&')}: it `,
      );
      await expect(store.put(key, Buffer.from('x'))).rejects.toThrow(message);
      await expect(store.put(key, Buffer.from('x'))).rejects.toThrow(problem);
      await expect(store.get(key)).rejects.toThrow(problem);
      await expect(store.delete(key)).rejects.toThrow(problem);
    }
    for (const prefix of ['/abs', '../', 'a//', 'a/../b/', 'nul\0']) {
      await expect(store.list(prefix)).rejects.toThrow(/^invalid object key prefix/);
    }
    expect(
      (await store.list('')).map((o) => o.key).filter((key) => !/^(round|big|list|gone|folder)\//.test(key)),
    ).toEqual([]);
  });

  it('shows nothing of a write in progress, and nothing of a failed one', async () => {
    await store.put('atomic/key', Buffer.from('old'));
    const body = new PassThrough();
    const writing = store.put('atomic/key', body);
    body.write(randomBytes(MiB));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await readAll(await store.get('atomic/key'))).toString()).toBe('old');
    expect(await store.list('atomic/')).toMatchObject([{ key: 'atomic/key', size: 3 }]);

    // The archive writer fails after 6 MiB: past the first S3 part.
    body.write(randomBytes(5 * MiB));
    body.destroy(new Error('archive writer failed'));
    await expect(writing).rejects.toThrow(/archive writer failed/);
    expect((await readAll(await store.get('atomic/key'))).toString()).toBe('old');
    expect(await store.list('atomic/')).toMatchObject([{ key: 'atomic/key', size: 3 }]);
    if (subject.pendingUploads) expect(await subject.pendingUploads()).toBe(0);
  });

  it('describes itself without credentials', () => {
    expect(store.describe()).not.toContain(gateway.secretAccessKey);
    expect(store.describe()).not.toContain(gateway.accessKeyId);
  });
});

describe('FileObjectStore', () => {
  it('keeps objects as files under the root and cleans up after a failed write', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'amanat-object-store-'));
    dirs.push(dir);
    const store = new FileObjectStore(dir);
    await store.put('tenants/t1/backup.tar.gz', Buffer.from('data'));
    expect(await readFile(join(dir, 'tenants', 't1', 'backup.tar.gz'), 'utf8')).toBe('data');
    const failing = new Readable({
      read() {
        this.destroy(new Error('boom'));
      },
    });
    await expect(store.put('tenants/t1/other.tar.gz', failing)).rejects.toThrow('boom');
    expect(await readdir(join(dir, 'tenants', 't1'))).toEqual(['backup.tar.gz']);
    expect(store.describe()).toBe(`file://${dir}`);
  });
});

describe('objectStoreFromUrl', () => {
  const noEnv = {};

  it('opens file URLs as a FileObjectStore', () => {
    const cases: [string, string][] = [
      ['file:///var/backups', 'file:///var/backups'],
      ['file://localhost/var/backups', 'file:///var/backups'],
      ['file:///var/my%20backups/', 'file:///var/my backups'],
      ['FILE:///var/backups', 'file:///var/backups'],
    ];
    for (const [url, described] of cases) {
      const store = objectStoreFromUrl(url, noEnv);
      expect(store).toBeInstanceOf(FileObjectStore);
      expect(store.describe()).toBe(described);
    }
  });

  it('opens s3 URLs as an S3ObjectStore configured from the environment', () => {
    const cases: [string, Record<string, string>, string][] = [
      ['s3://amanat-backups', {}, 's3://amanat-backups/'],
      ['s3://amanat-backups/', {}, 's3://amanat-backups/'],
      ['s3://amanat-backups/prod/eu', {}, 's3://amanat-backups/prod/eu/'],
      [
        's3://amanat.backups/prod/',
        { BACKUP_S3_ENDPOINT: 'https://s3.example.net', BACKUP_S3_REGION: 'eu-central-1' },
        's3://amanat.backups/prod/ at https://s3.example.net',
      ],
    ];
    for (const [url, env, described] of cases) {
      const store = objectStoreFromUrl(url, env);
      expect(store).toBeInstanceOf(S3ObjectStore);
      expect(store.describe()).toBe(described);
    }
  });

  it('refuses anything else with an error naming the problem', () => {
    const cases: [string, Record<string, string>, RegExp][] = [
      ['/var/backups', {}, /has no scheme; expected file:\/\/\/absolute\/path or s3:\/\/bucket/],
      ['backups', {}, /has no scheme/],
      ['', {}, /has no scheme/],
      ['https://s3.amazonaws.com/bucket', {}, /scheme "https:" is not supported/],
      ['gs://bucket/x', {}, /scheme "gs:" is not supported/],
      ['file://var/backups', {}, /names host "var"; a file URL needs three slashes/],
      ['file:///var/backups?x=1', {}, /has a query or fragment/],
      ['s3://', {}, /names bucket ""/],
      ['s3://Amanat_Backups', {}, /names bucket "Amanat_Backups"; S3 bucket names are/],
      ['s3://ab', {}, /names bucket "ab"/],
      ['s3://bucket/a//b', {}, /key prefix that has an empty segment/],
      ['s3://bucket/a/../b', {}, /key prefix that has a "\.\." segment/],
      ['s3://bucket/x?versionId=1', {}, /not of the form s3:\/\/bucket/],
      ['s3://bucket', { BACKUP_S3_ENDPOINT: 'minio:9000' }, /BACKUP_S3_ENDPOINT must be an http/],
      ['s3://bucket', { BACKUP_S3_ACCESS_KEY_ID: 'AKIA' }, /BACKUP_S3_SECRET_ACCESS_KEY is required/],
      ['s3://bucket', { BACKUP_S3_SECRET_ACCESS_KEY: 's' }, /BACKUP_S3_ACCESS_KEY_ID is required/],
      [
        's3://bucket',
        { BACKUP_S3_FORCE_PATH_STYLE: 'yes' },
        /BACKUP_S3_FORCE_PATH_STYLE must be true or false/,
      ],
    ];
    for (const [url, env, message] of cases) expect(() => objectStoreFromUrl(url, env), url).toThrow(message);
  });

  it('never repeats credentials written into an s3 URL', () => {
    expect(() => objectStoreFromUrl('s3://AKIAEXAMPLE:hunter2@bucket/x', {})).toThrow(
      /^backup store URL is not of the form s3:\/\/bucket\/optional\/prefix \(no credentials/,
    );
    let message = '';
    try {
      objectStoreFromUrl('s3://AKIAEXAMPLE:hunter2@bucket/x', {});
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).not.toMatch(/hunter2|AKIAEXAMPLE/);
  });

  it('reaches a real S3 service with the endpoint and keys from the environment, path-style', async () => {
    await gateway.createBucket('from-url');
    const store = objectStoreFromUrl('s3://from-url/fleet/backups', {
      BACKUP_S3_ENDPOINT: gateway.endpoint,
      BACKUP_S3_ACCESS_KEY_ID: gateway.accessKeyId,
      BACKUP_S3_SECRET_ACCESS_KEY: gateway.secretAccessKey,
    });
    await store.put('tenants/t1/b.tar.gz', Buffer.from('via url'));
    expect((await readAll(await store.get('tenants/t1/b.tar.gz'))).toString()).toBe('via url');
    // The posix backend maps keys to paths, so the prefix shows on disk.
    expect(
      existsSync(join(gateway.dataDir, 'from-url', 'fleet', 'backups', 'tenants', 't1', 'b.tar.gz')),
    ).toBe(true);
    expect(store.describe()).toBe(`s3://from-url/fleet/backups/ at ${gateway.endpoint}`);
  });
});
