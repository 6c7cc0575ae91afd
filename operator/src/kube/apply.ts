import { isDeepStrictEqual } from 'node:util';
import {
  ApiException,
  type KubernetesObject,
  type KubernetesObjectApi,
  PatchStrategy,
} from '@kubernetes/client-node';

/** The one field manager every write of the operator goes out under. */
export const FIELD_MANAGER = 'amanat-operator';

export type ApplyOutcome = 'created' | 'updated' | 'unchanged';

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
 * Whether every field `desired` sets has that value in `live` (fields the API server adds
 * and other managers own are ignored). A Secret's `stringData` is compared with its `data`,
 * the form the server keeps it in.
 */
export function satisfies(live: unknown, desired: unknown): boolean {
  if (Array.isArray(desired)) {
    return (
      Array.isArray(live) &&
      live.length === desired.length &&
      desired.every((item, index) => satisfies(live[index], item))
    );
  }
  if (desired !== null && typeof desired === 'object') {
    if (live === null || typeof live !== 'object' || Array.isArray(live)) return false;
    return Object.entries(desired).every(([key, value]) =>
      satisfies((live as Record<string, unknown>)[key], value),
    );
  }
  return isDeepStrictEqual(live, desired);
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
  if (live && satisfies(live, asStored(desired))) return 'unchanged';
  await api.patch(desired, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
  return live ? 'updated' : 'created';
}
