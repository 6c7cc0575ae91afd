import { isDeepStrictEqual } from 'node:util';
import {
  ApiException,
  dumpYaml,
  type KubernetesObject,
  type KubernetesObjectApi,
  loadYaml,
  PatchStrategy,
} from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';

/** The one field manager every write of the operator goes out under. */
export const FIELD_MANAGER = 'amanat-operator';

export type ApplyOutcome = 'unchanged' | { outcome: 'created' | 'updated'; changed: string };

/**
 * The client's typed models name some fields differently from the API (the keywords: a
 * LimitRange's `default` is `_default`, a NetworkPolicy rule's `from` is `_from`), and its
 * writes serialise through them, dropping a wire-named `default` or `from` without a word.
 * Manifests (cdk8s output, wire form) go through its YAML loader into model form before a
 * write; live objects (model form) go back to wire form before a comparison.
 */
export const asModel = (wire: KubernetesObject): KubernetesObject => loadYaml(JSON.stringify(wire));
const asWire = (model: KubernetesObject): unknown => parseYaml(dumpYaml(model));

export const isNotFound = (error: unknown) => error instanceof ApiException && error.code === 404;
export const isConflict = (error: unknown) => error instanceof ApiException && error.code === 409;

/** The live object, or null when it does not exist. */
export async function readLive<T extends KubernetesObject>(
  api: KubernetesObjectApi,
  header: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } },
): Promise<T | null> {
  try {
    return (await api.read(header as never)) as T;
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

/**
 * The first field `desired` sets that `live` lacks or holds differently, as a path (`.spec.replicas`),
 * or null when `live` has every value (fields the API server adds and other managers own are
 * ignored). A Secret's `stringData` is compared with its `data`, the form the server keeps.
 */
export function drift(live: unknown, desired: unknown, path = ''): string | null {
  if (Array.isArray(desired)) {
    if (!Array.isArray(live) || live.length !== desired.length) return path || '.';
    for (const [index, item] of desired.entries()) {
      const found = drift(live[index], item, `${path}[${index}]`);
      if (found) return found;
    }
    return null;
  }
  if (desired !== null && typeof desired === 'object') {
    if (live === null || typeof live !== 'object' || Array.isArray(live)) return path || '.';
    for (const [key, value] of Object.entries(desired)) {
      const found = drift((live as Record<string, unknown>)[key], value, `${path}.${key}`);
      if (found) return found;
    }
    return null;
  }
  return isDeepStrictEqual(live, desired) ? null : path || '.';
}

function asStored(desired: KubernetesObject & { stringData?: Record<string, string> }): KubernetesObject {
  if (desired.kind !== 'Secret' || !desired.stringData) return desired;
  const { stringData, ...rest } = desired;
  const data = Object.fromEntries(
    Object.entries(stringData).map(([key, value]) => [key, Buffer.from(value).toString('base64')]),
  );
  return { ...rest, data } as KubernetesObject;
}

/**
 * Server-side applies `desired` under the operator's field manager, unless the live object
 * already has every value it sets: an unchanged fleet costs reads only, never writes.
 */
export async function applyIfChanged(
  api: KubernetesObjectApi,
  desired: KubernetesObject,
): Promise<ApplyOutcome> {
  const live = await readLive(api, desired as Parameters<typeof readLive>[1]);
  const changed = live ? drift(asWire(live), asStored(desired)) : '.';
  if (changed === null) return 'unchanged';
  await api.patch(asModel(desired), undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
  return live ? { outcome: 'updated', changed } : { outcome: 'created', changed };
}
