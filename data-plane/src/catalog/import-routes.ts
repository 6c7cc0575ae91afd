import type { Readable } from 'node:stream';
import { ProblemError } from '@amanat/kit/http/problem';
import { errorResponses, Strict } from '@amanat/kit/http/schemas';
import type { App } from '@amanat/kit/http/types';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { requirePermission, type StaffIdentity, staffActor } from '../auth/staff.ts';
import type { ServiceContext } from '../context.ts';
import { importColumns } from './csv.ts';
import { importCatalogCsv } from './import.ts';

const ImportResult = Strict({
  created: Type.Integer(),
  updated: Type.Integer(),
  unchanged: Type.Integer(),
  errors: Type.Array(Strict({ line: Type.Integer(), field: Type.String(), message: Type.String() })),
  errors_omitted: Type.Integer(),
});

/**
 * The CSV upload route, in its own encapsulated scope so the text/csv parser applies to it
 * alone. The parser does not read the body: it hands the request stream to the handler,
 * which streams it through csv-parse after the permission check has passed.
 */
export async function catalogImportRoutes(
  app: App,
  ctx: ServiceContext,
  verifyStaff: (token: string) => Promise<StaffIdentity>,
) {
  const limit = ctx.config.IMPORT_LIMIT_BYTES;
  const csvBodies = new WeakMap<FastifyRequest, Readable>();

  await app.register(async (scope) => {
    scope.addContentTypeParser('text/csv', (request, payload, done) => {
      const declared = Number(request.headers['content-length']);
      if (Number.isFinite(declared) && declared > limit) {
        done(
          new ProblemError(
            413,
            'payload-too-large',
            'Payload Too Large',
            `The CSV is larger than ${limit} bytes.`,
          ),
        );
        return;
      }
      csvBodies.set(request, payload);
      done(null, undefined);
    });

    scope.post(
      '/api/admin/catalog/import',
      {
        preValidation: requirePermission(verifyStaff, 'catalog.write'),
        // The body schema below documents the upload; the stream itself is validated row by
        // row by the importer, so fastify's validator has nothing to check here.
        validatorCompiler: () => () => true,
        schema: {
          tags: ['admin'],
          summary: 'Import products and variants from CSV (text/csv), idempotent by SKU',
          description: `One row per variant; rows sharing product_slug form one product. Columns: ${Object.entries(
            importColumns,
          )
            .map(([name, meaning]) => `${name} (${meaning})`)
            .join('; ')}. Every bad row is reported with its line and column; the good rows are imported.`,
          consumes: ['text/csv'],
          body: Type.String({ description: 'the CSV file, UTF-8, first line the header' }),
          response: { 200: ImportResult, ...errorResponses },
        },
      },
      async (request) => {
        const body = csvBodies.get(request);
        if (!body) {
          throw new ProblemError(
            415,
            'unsupported-media-type',
            'Unsupported Media Type',
            'Send the catalog as Content-Type: text/csv.',
          );
        }
        return importCatalogCsv(ctx, staffActor(request), body);
      },
    );
  });
}
