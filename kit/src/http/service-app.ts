import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import type { OpenAPIV3_1 } from 'openapi-types';
import type { DestinationStream } from 'pino';
import { type FoundationOptions, registerFoundation, serverOptions } from './foundation.ts';
import { Problem } from './schemas.ts';
import type { App } from './types.ts';

export interface RouteEntry {
  method: string;
  url: string;
  /** The guards that run before validation, as registered (tests inspect their tags). */
  preValidation: unknown[];
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered on the app (HEAD routes included), for tests and tooling. */
    routeTable: readonly RouteEntry[];
  }
}

export interface ServiceAppOptions {
  service: string;
  server: { logLevel: string; bodyLimit: number; trustProxy: boolean };
  logStream?: DestinationStream | undefined;
  logBindings?: Record<string, string>;
  /** OpenAPI info, components and security for this service's 3.1 document. */
  openapi: {
    info: OpenAPIV3_1.InfoObject;
    components?: OpenAPIV3_1.ComponentsObject;
    security?: OpenAPIV3_1.SecurityRequirementObject[];
  };
  readiness: () => Promise<string[]>;
  notFound?: FoundationOptions['notFound'];
}

/**
 * A fastify app with what every Amanat service has before its routes: strict validation,
 * problem+json errors, logs, metrics and health, cookies, the route table, and an OpenAPI
 * 3.1 document generated from the route schemas and served at /openapi.json.
 */
export async function createServiceApp(options: ServiceAppOptions): Promise<App> {
  const app = Fastify(
    serverOptions({
      ...options.server,
      logStream: options.logStream,
      ...(options.logBindings ? { logBindings: options.logBindings } : {}),
    }),
  ).withTypeProvider<TypeBoxTypeProvider>();

  const routeTable: RouteEntry[] = [];
  app.decorate('routeTable', routeTable);
  app.addHook('onRoute', (route) => {
    const preValidation = [route.preValidation ?? []].flat();
    for (const method of [route.method].flat()) routeTable.push({ method, url: route.url, preValidation });
  });

  await app.register(swagger, {
    openapi: { openapi: '3.1.0', ...options.openapi },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  app.addSchema(Problem);
  await app.register(cookie);
  registerFoundation(app, {
    service: options.service,
    readiness: options.readiness,
    notFound: options.notFound,
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}
