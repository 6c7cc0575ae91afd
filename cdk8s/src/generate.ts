import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { generatedChartFiles } from './chart-files.ts';

/** The Helm chart the generated files go into. */
export const CHART_DIR = new URL('../../charts/amanat/', import.meta.url);

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const [path, content] of Object.entries(generatedChartFiles())) {
    const target = new URL(path, CHART_DIR);
    await mkdir(dirname(target.pathname), { recursive: true });
    await writeFile(target, content);
    console.log(`wrote charts/amanat/${path}`);
  }
}
