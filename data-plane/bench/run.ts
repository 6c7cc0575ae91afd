/**
 * `npm run bench -w data-plane [-- commerce|isolation|memory|storefront]`: the commerce
 * benchmark (catalog, search, item, checkout) by default, the isolation benchmark, a data
 * plane's resident memory, or server-side rendering of the storefront pages. Each prints
 * its tables.
 */
const suites = {
  commerce: () => import('./commerce.ts'),
  isolation: () => import('./isolation.ts'),
  memory: () => import('./memory.ts'),
  storefront: () => import('./storefront.ts'),
};
const name = (process.argv[2] ?? 'commerce') as keyof typeof suites;
if (!(name in suites)) {
  console.error(`unknown benchmark ${JSON.stringify(name)}; choose one of ${Object.keys(suites).join(', ')}`);
  process.exit(2);
}
await suites[name]();
