import { readFileSync } from 'node:fs';
import type { Static, TObject } from 'typebox';
import { Value } from 'typebox/value';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** `NAME_FILE=/path` reads NAME from a mounted file (Kubernetes Secrets), trailing newline dropped. */
function fromMountedFile(name: string, path: string | undefined): string | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    throw new ConfigError(`${name}_FILE names ${path}, which cannot be read: ${(error as Error).message}`);
  }
}

/**
 * Reads and validates configuration from environment variables against a TypeBox schema
 * whose property names are the variable names. The first problem found is reported in
 * one line naming the variable, so start-up fails with a message an operator can act on.
 * Every variable may instead be given as a file path in `<NAME>_FILE`.
 */
export function loadEnv<T extends TObject>(schema: T, env: NodeJS.ProcessEnv = process.env): Static<T> {
  const raw: Record<string, unknown> = {};
  for (const name of Object.keys(schema.properties)) {
    const value = env[name] ?? fromMountedFile(name, env[`${name}_FILE`]);
    if (value !== undefined && value !== '') raw[name] = value;
  }
  const withDefaults = Value.Default(schema, raw);
  const converted = Value.Convert(schema, withDefaults);
  const [first] = Value.Errors(schema, converted);
  if (first) {
    const name =
      first.instancePath.split('/')[1] ||
      (first.params as { requiredProperties?: string[] }).requiredProperties?.[0] ||
      Object.keys(schema.properties).find((key) => !(key in raw)) ||
      '?';
    const given = raw[name];
    const hint = (schema.properties[name] as { description?: string } | undefined)?.description;
    throw new ConfigError(
      given === undefined
        ? `${name} is required${hint ? `: ${hint}` : ''}`
        : `${name} is invalid (${first.message})${hint ? `: ${hint}` : ''}`,
    );
  }
  return converted as Static<T>;
}
