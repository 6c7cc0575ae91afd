/**
 * `npm run bench -w control-plane [-- requests|local]`: control-plane request costs by default,
 * or the local platform (`npm start`): start-up, idle data-plane memory, new-tenant time. Each
 * prints its tables; record results in docs/benchmarks.md.
 */
const suites = {
  requests: () => import('./requests.ts'),
  local: () => import('./local.ts'),
};
const name = (process.argv[2] ?? 'requests') as keyof typeof suites;
if (!(name in suites)) {
  console.error(`unknown benchmark ${JSON.stringify(name)}; choose one of ${Object.keys(suites).join(', ')}`);
  process.exit(2);
}
await suites[name]();
