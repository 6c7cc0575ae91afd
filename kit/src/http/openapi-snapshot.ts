import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

interface Operation {
  parameters?: { in: string }[];
  responses: Record<string, unknown>;
}

/**
 * The OpenAPI checks every service runs: the generated document equals the committed
 * snapshot (CI fails on drift; `npm run openapi:update` rewrites it), it is 3.1, and every
 * operation documents a success, its problem+json errors and each path parameter.
 */
export function describeOpenApiSnapshot(
  service: string,
  generate: () => Promise<unknown>,
  snapshotPath: string,
) {
  describe(`${service} OpenAPI document`, () => {
    it('matches the committed snapshot (run `npm run openapi:update` after changing routes)', async () => {
      const committed = JSON.parse(await readFile(snapshotPath, 'utf8'));
      expect(await generate()).toEqual(committed);
    });

    it('is OpenAPI 3.1 and every operation documents its success and error responses', async () => {
      const document = (await generate()) as {
        openapi: string;
        paths: Record<string, Record<string, Operation>>;
      };
      expect(document.openapi).toBe('3.1.0');
      const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
        Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
      );
      expect(operations.length).toBeGreaterThan(0);
      for (const { path, method, operation } of operations) {
        const statuses = Object.keys(operation.responses);
        expect(
          statuses.some((status) => /^2\d\d$/.test(status)),
          `${method} ${path} success`,
        ).toBe(true);
        expect(statuses, `${method} ${path} errors`).toContain('4XX');
        const pathParams = [...path.matchAll(/\{(\w+)\}/g)].length;
        expect(
          operation.parameters?.filter((p) => p.in === 'path').length ?? 0,
          `${method} ${path} params`,
        ).toBe(pathParams);
      }
    });
  });
}
