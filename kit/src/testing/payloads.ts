export type Json = Record<string, unknown>;

/** Pass as the value to `withField` to delete the field instead. */
export const REMOVE = Symbol('remove');

/**
 * A copy of a valid request body with the value at the dotted `path` replaced (or removed):
 * bad-input tables change one thing at a time, so the change is the only thing wrong.
 */
export function withField(base: Json, path: string, value: unknown): Json {
  const copy: Json = structuredClone(base);
  const keys = path.split('.');
  const last = keys.pop() as string;
  let node = copy;
  for (const key of keys) node = node[key] as Json;
  if (value === REMOVE) delete node[last];
  else node[last] = value;
  return copy;
}
