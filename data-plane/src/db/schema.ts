export * from '../audit/schema.ts';
export * from '../catalog/schema.ts';
export * from '../events/schema.ts';
export * from '../settings/schema.ts';
