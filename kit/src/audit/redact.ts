const SECRET_KEY = /pass(word)?|secret|token|hash|totp|(^|_)key$|api[_-]?key|private|credential/i;

/** Deep copy with every secret-looking field replaced, for before/after snapshots. */
export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (value instanceof Date) return value.toISOString();
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        SECRET_KEY.test(key) && item !== null ? '[REDACTED]' : redactSecrets(item),
      ]),
    );
  }
  return value;
}
