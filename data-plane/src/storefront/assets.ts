import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { runtimeFile } from '../runtime-files.ts';

export interface Asset {
  /** `/assets/<name>.<content hash>.<ext>`: a new file gets a new URL, so it may be cached forever. */
  path: string;
  body: Buffer;
  contentType: string;
}

function load(file: string, contentType: string): Asset {
  const body = readFileSync(runtimeFile('storefrontAssets', file));
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
  const dot = file.lastIndexOf('.');
  return { path: `/assets/${file.slice(0, dot)}.${hash}${file.slice(dot)}`, body, contentType };
}

/** The storefront's stylesheet, its script, and the Telegram Mini App's script, read once at start. */
export const assets = {
  css: load('storefront.css', 'text/css; charset=utf-8'),
  js: load('storefront.js', 'text/javascript; charset=utf-8'),
  miniapp: load('miniapp.js', 'text/javascript; charset=utf-8'),
};

export const assetsByPath = new Map(Object.values(assets).map((asset) => [asset.path, asset]));
