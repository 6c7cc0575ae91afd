export * from '../audit/schema.ts';
export * from '../settings/schema.ts';
