export * from '../accounts/schema.ts';
export * from '../audit/schema.ts';
export * from '../tenant-roles/schema.ts';
export * from '../tenants/schema.ts';
