import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import tar from 'tar-stream';
import type { Placement } from '../provisioning/modes.ts';

export const ARCHIVE_FORMAT = 'amanat-tenant-backup/1';
const MANIFEST = 'manifest.json';

export interface ArchivedTable {
  name: string;
  /** Column order of the COPY data; restore maps by name, so newer schemas with more columns still load. */
  columns: string[];
  rows: number;
  /** sha256 of the table's COPY text, checked before a restore loads anything. */
  sha256: string;
  /** The same order-independent row checksum a tier move verifies with, checked after loading. */
  checksum: string;
  file: string;
}

export interface BackupManifest {
  format: typeof ARCHIVE_FORMAT;
  tenant: { id: string; slug: string };
  takenAt: string;
  /** Where the rows came from; informational: a backup restores into any mode. */
  source: Placement;
  /** The newest data-plane migration applied where the backup was taken (its journal `when` and tag). */
  schemaVersion: { when: number; tag: string };
  tables: ArchivedTable[];
}

export function tableFile(table: string): string {
  return `tables/${table}.copy`;
}

/** sha256 of a file, streamed. */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/**
 * Packs a directory of COPY files and their manifest as tar.gz into `out`, manifest first so
 * a reader can check what follows against it. Table files are on disk already because a tar
 * header needs each entry's size before its bytes.
 */
export async function writeArchive(dir: string, manifest: BackupManifest, out: Writable): Promise<void> {
  const pack = tar.pack();
  const written = pipeline(pack, createGzip(), out);
  const manifestBytes = Buffer.from(JSON.stringify(manifest, null, 2));
  await new Promise<void>((resolve, reject) =>
    pack.entry({ name: MANIFEST, size: manifestBytes.length }, manifestBytes, (error) =>
      error ? reject(error) : resolve(),
    ),
  );
  for (const table of manifest.tables) {
    const path = join(dir, table.file);
    const { size } = await stat(path);
    await new Promise<void>((resolve, reject) => {
      const entry = pack.entry({ name: table.file, size }, (error) => (error ? reject(error) : resolve()));
      createReadStream(path).on('error', reject).pipe(entry);
    });
  }
  pack.finalize();
  await written;
}

export class ArchiveError extends Error {}

/**
 * Unpacks an archive into `dir` and checks it: the manifest comes first and has our format,
 * only the files it lists are present, and each has the sha256 the manifest records.
 */
export async function readArchive(input: Readable, dir: string): Promise<BackupManifest> {
  await mkdir(join(dir, 'tables'), { recursive: true });
  const extract = tar.extract();
  const done = pipeline(input, createGunzip(), extract);
  let manifest: BackupManifest | undefined;
  const seen = new Set<string>();
  try {
    for await (const entry of extract) {
      const name = entry.header.name;
      if (!manifest) {
        if (name !== MANIFEST) throw new ArchiveError(`the archive does not start with ${MANIFEST}`);
        const chunks: Buffer[] = [];
        for await (const chunk of entry) chunks.push(chunk as Buffer);
        manifest = JSON.parse(Buffer.concat(chunks).toString('utf8')) as BackupManifest;
        if (manifest.format !== ARCHIVE_FORMAT) {
          throw new ArchiveError(`unknown backup format ${JSON.stringify(manifest.format)}`);
        }
        await writeFile(join(dir, MANIFEST), JSON.stringify(manifest));
        continue;
      }
      const table = manifest.tables.find((candidate) => candidate.file === name);
      if (!table || seen.has(name))
        throw new ArchiveError(`unexpected archive entry ${JSON.stringify(name)}`);
      seen.add(name);
      const hash = createHash('sha256');
      entry.on('data', (chunk: unknown) => hash.update(chunk as Buffer));
      await pipeline(entry, createWriteStream(join(dir, table.file)));
      if (hash.digest('hex') !== table.sha256) {
        throw new ArchiveError(`table ${table.name} does not match its sha256 in the manifest`);
      }
    }
  } catch (error) {
    // Stop reading the rest of the archive; its pipeline's own error is this one's echo.
    extract.destroy();
    await done.catch(() => undefined);
    throw error;
  }
  await done;
  if (!manifest) throw new ArchiveError('the archive is empty');
  const missing = manifest.tables.filter((table) => !seen.has(table.file)).map((table) => table.name);
  if (missing.length > 0) throw new ArchiveError(`the archive lacks the data of ${missing.join(', ')}`);
  return manifest;
}
