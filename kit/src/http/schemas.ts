import { type TSchema, Type } from 'typebox';

/** A string enum as a union of literals, typed as the union of the values. */
export function literals<const T extends string>(values: readonly T[], description?: string) {
  return Type.Unsafe<T>(
    Type.Union(
      values.map((value) => Type.Literal(value)),
      description ? { description } : {},
    ),
  );
}

/** RFC 9457 problem details, as every error response is shaped. */
export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
  },
  { $id: 'Problem', additionalProperties: true, description: 'RFC 9457 problem details' },
);

/** The pattern narrows format uuid, which also lets `urn:uuid:…` through: PostgreSQL refuses that form (a 500). */
export const Uuid = Type.String({
  format: 'uuid',
  pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
});
export const Timestamp = Type.String({ format: 'date-time' });
export const Empty = Type.Null({ description: 'No content' });

/** Objects refuse unknown fields: a typo is an error, never silently dropped. */
export function Strict<T extends Record<string, TSchema>>(properties: T, description?: string) {
  return Type.Object(properties, { additionalProperties: false, ...(description ? { description } : {}) });
}

/** Responses every route may produce besides its success, documented in OpenAPI. */
export const errorResponses = {
  '4xx': Type.Ref('Problem'),
  '5xx': Type.Ref('Problem'),
};
