import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { hostname } from 'node:os';
// Brings in the `hide` schema keyword that keeps health endpoints out of OpenAPI.
import type {} from '@fastify/swagger';
import { Ajv, type AnySchema } from 'ajv';
import ajvFormats from 'ajv-formats';
import {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifySchemaCompiler,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import type { DestinationStream } from 'pino';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { type FieldError, ProblemError, problem } from './problem.ts';

/** Paths pino blanks in every log line: credentials and personal data never reach the logs. */
export const redactedLogPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.current_password',
  '*.new_password',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.secret',
  '*.key',
  '*.email',
];

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Binds `tenantId` to a request's logger as soon as the route is matched, so every line of
 * a tenant-scoped request (`/tenants/:tenantId/...`) carries it, the framework's own
 * incoming/completed lines included. The control plane names the tenant in the path; a
 * data plane serves one tenant and sets tenantId on its base logger instead.
 */
class TenantAwareLogController extends LogController {
  override incomingRequest(request: FastifyRequest, reply: FastifyReply, metadata?: Record<string, unknown>) {
    const tenantId = (request.params as Record<string, unknown> | undefined)?.tenantId;
    if (typeof tenantId === 'string') {
      request.log = request.log.child({ tenantId });
      reply.log = request.log;
    }
    super.incomingRequest(request, reply, metadata);
  }
}

/**
 * Fastify options every service shares: pino JSON logs with redaction, a request id on
 * every line (taken from `x-request-id` when a proxy set a sane one), strict validation.
 */
export function serverOptions(options: {
  logLevel: string;
  bodyLimit: number;
  trustProxy: boolean;
  logStream?: DestinationStream | undefined;
  /** Fields on every log line, e.g. a data plane's tenantId. */
  logBindings?: Record<string, string>;
}) {
  return {
    logger: {
      level: options.logLevel,
      redact: { paths: redactedLogPaths, censor: '[REDACTED]' },
      // The path without its query string: query strings can carry tokens and signatures
      // (a guest's order token, a signed download link) that must not reach the logs.
      serializers: {
        req: (request: FastifyRequest) => ({
          method: request.method,
          url: request.url.split('?')[0],
          remoteAddress: request.ip,
        }),
      },
      ...(options.logBindings
        ? { base: { pid: process.pid, hostname: hostname(), ...options.logBindings } }
        : {}),
      ...(options.logStream ? { stream: options.logStream } : {}),
    },
    bodyLimit: options.bodyLimit,
    trustProxy: options.trustProxy,
    logController: new TenantAwareLogController({ requestIdLogLabel: 'requestId' }),
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // Errors fastify raises before routing (a malformed URL, an overlong path parameter) are
    // problem+json too; left alone, fastify answers them with its own JSON shape.
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', request.id);
      sendProblem(reply, request, frameworkProblem(error, error.statusCode ?? 400));
    },
  } satisfies FastifyServerOptions;
}

function fieldErrorsFromValidation(error: FastifyError): FieldError[] {
  const context = error.validationContext === 'querystring' ? 'query' : (error.validationContext ?? 'body');
  return (error.validation ?? []).map((issue) => {
    const params = issue.params as Record<string, unknown>;
    const path = issue.instancePath.split('/').filter(Boolean);
    if (typeof params.missingProperty === 'string') path.push(params.missingProperty);
    if (typeof params.additionalProperty === 'string') {
      return {
        field: [context, ...path, params.additionalProperty].join('.'),
        message: 'is not an accepted field',
      };
    }
    return { field: [context, ...path].join('.'), message: issue.message ?? 'is invalid' };
  });
}

/** Deeper than any route's schema goes; walking deeper input could overflow the stack (a 500). */
const MAX_INPUT_DEPTH = 32;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Finds the first part of the input that cannot be stored as sent: a string with a NUL byte
 * (PostgreSQL text refuses it), a string with a lone surrogate (UTF-8 cannot encode it; it
 * would be silently replaced), or nesting deeper than MAX_INPUT_DEPTH.
 */
function findUnstorable(value: unknown, path: string, depth = 0): FieldError | undefined {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) return { field: path, message: 'contains a NUL byte' };
    if (LONE_SURROGATE.test(value)) return { field: path, message: 'is not well-formed Unicode' };
    return undefined;
  }
  if (!value || typeof value !== 'object') return undefined;
  if (depth >= MAX_INPUT_DEPTH) {
    return { field: path, message: `is nested more than ${MAX_INPUT_DEPTH} levels deep` };
  }
  for (const [key, item] of Array.isArray(value) ? value.entries() : Object.entries(value)) {
    const found = findUnstorable(item, `${path}.${key}`, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** A fastify 4xx as a problem: FST_ERR_CTP_BODY_TOO_LARGE → /problems/ctp-body-too-large, "Payload Too Large". */
function frameworkProblem(error: FastifyError, status: number): ProblemError {
  const code = (error.code ?? 'bad-request')
    .replace(/^FST_ERR_/, '')
    .toLowerCase()
    .replaceAll('_', '-');
  return new ProblemError(status, code, STATUS_CODES[status] ?? 'Bad Request', error.message);
}

export function sendProblem(reply: FastifyReply, request: FastifyRequest, error: ProblemError) {
  return reply
    .code(error.status)
    .headers(error.headers)
    .type('application/problem+json')
    .send(error.toBody(request.url.split('?')[0]));
}

export interface FoundationOptions {
  service: string;
  /** Readiness: resolves to the reasons the service is not ready (empty when ready). */
  readiness: () => Promise<string[]>;
  /**
   * Answers a request no route matched before the problem+json 404 does, for services that
   * also serve web pages (a shop's HTML 404 page): it sends a reply and returns true, or
   * returns false to leave the request to the problem+json 404.
   */
  notFound?: ((request: FastifyRequest, reply: FastifyReply) => Promise<boolean>) | undefined;
}

// ajv-formats is CommonJS with `exports.default`; under NodeNext its default import is the module.
const addFormats = ajvFormats as unknown as typeof ajvFormats.default;

/**
 * Two validators: request bodies are JSON and keep their types — `true` is not the string
 * "true" and a bare string is not a one-element array; query strings, path parameters and
 * headers arrive as text and are coerced to the types their schemas declare. Both refuse
 * unknown fields (schemas say additionalProperties: false) instead of dropping them.
 */
function validatorCompiler(): FastifySchemaCompiler<AnySchema> {
  const options = { removeAdditional: false, allErrors: true, useDefaults: true, strict: false } as const;
  const bodies = addFormats(new Ajv({ ...options, coerceTypes: false }));
  const text = addFormats(new Ajv({ ...options, coerceTypes: 'array' }));
  return ({ schema, httpPart }) => (httpPart === 'body' ? bodies : text).compile(schema);
}

/**
 * Validation, error handling (RFC 9457 everywhere), refusal of unstorable input, request
 * ids on responses, request metrics and the health endpoints. Registered on the root instance.
 */
export function registerFoundation(app: FastifyInstance, options: FoundationOptions): Registry {
  app.setValidatorCompiler(validatorCompiler());
  app.removeContentTypeParser('text/plain');
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service });
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by method, route and status code.',
    labelNames: ['method', 'route', 'status_code'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration in seconds by method, route and status code.',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  app.addHook('preValidation', async (request) => {
    // No body at all reads as an empty object: routes whose fields are all optional work
    // without one, and the others name each missing field instead of "body must be object".
    if (request.body === undefined && request.routeOptions.schema?.body) request.body = {};
    for (const [part, value] of [
      ['body', request.body],
      ['query', request.query],
      ['params', request.params],
    ] as const) {
      const found = findUnstorable(value, part);
      if (found) throw problem.validation(`${found.field} ${found.message}`, [found]);
    }
  });

  app.addHook('onResponse', async (request, reply) => {
    const labels = {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status_code: String(reply.statusCode),
    };
    requests.inc(labels);
    duration.observe(labels, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((error: FastifyError | ProblemError, request, reply) => {
    if (error instanceof ProblemError) return sendProblem(reply, request, error);
    if (error.validation) {
      const errors = fieldErrorsFromValidation(error);
      const summary = errors.map((e) => `${e.field} ${e.message}`).join('; ');
      return sendProblem(reply, request, problem.validation(summary, errors));
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return sendProblem(reply, request, frameworkProblem(error, status));
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(
      reply,
      request,
      new ProblemError(
        500,
        'internal',
        'Internal error',
        `Something went wrong; quote request id ${request.id}.`,
      ),
    );
  });

  app.setNotFoundHandler(async (request, reply) => {
    if (options.notFound && (await options.notFound(request, reply))) return reply;
    return sendProblem(
      reply,
      request,
      problem.notFound(`No route ${request.method} ${request.url.split('?')[0]}.`),
    );
  });

  const hidden = { schema: { hide: true } };
  app.get('/healthz', hidden, async () => ({ status: 'ok' }));
  app.get('/readyz', hidden, async (_request, reply) => {
    const reasons = await options.readiness().catch((error: Error) => [error.message]);
    if (reasons.length > 0) return reply.code(503).send({ status: 'not_ready', reasons });
    return { status: 'ready' };
  });
  app.get('/metrics', hidden, async (_request, reply) =>
    reply.type(registry.contentType).send(await registry.metrics()),
  );
  return registry;
}
