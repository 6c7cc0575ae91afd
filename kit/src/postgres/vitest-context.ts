import type {} from 'vitest';
import type { TestProject } from 'vitest/node';

/**
 * What the root vitest global setup hands every test file: the PostgreSQL server to use
 * and, per service, the migrated template database to clone.
 */
declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    templates: Record<string, string>;
  }
}

export function provideTestDatabases(
  project: TestProject,
  pgAdminUrl: string,
  templates: Record<string, string>,
) {
  project.provide('pgAdminUrl', pgAdminUrl);
  project.provide('templates', templates);
}
