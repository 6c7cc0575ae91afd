/**
 * `npm run bench -w data-plane -- memory`: the resident memory (RSS) of one data plane
 * started three ways — under tsx from the sources (`npm start`), from the bundle with V8's
 * default flags, and as the local runtime starts it (`dataPlaneCommand`: bundle and
 * `DATA_PLANE_NODE_FLAGS`) — idle after start, after 100 storefront requests and 10 s idle,
 * and during and after a burst of item pages at 50 connections, with that burst's req/s.
 * `BENCH_MEMORY_FLAGS="--a;--b --c"` adds the bundle with each `;`-separated set of flags.
 * Record results in docs/benchmarks.md ("Data-plane memory").
 */
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { machineSummary } from '@amanat/kit/bench/machine';
import { DATA_PLANE_BUNDLE, type DataPlaneLaunch, dataPlaneCommand } from '../src/launch.ts';
import { CONNECTIONS, DURATION_SECONDS, measure, pick, startBenchShop } from './harness.ts';

const PRODUCTS = Number(process.env.BENCH_PRODUCTS ?? 2_000);
const HOST = 'bench-shop.localhost';
const IDLE_MS = 10_000;

const launcher = dataPlaneCommand({ packed: true });
const variants: { name: string; launch: DataPlaneLaunch }[] = [
  { name: 'tsx src/main.ts', launch: { ...launcher, args: ['--import', 'tsx', 'src/main.ts'] } },
  { name: 'bundle, V8 defaults', launch: { ...launcher, args: [DATA_PLANE_BUNDLE] } },
  { name: `bundle ${launcher.args.slice(0, -1).join(' ')} (launcher)`, launch: launcher },
  ...(process.env.BENCH_MEMORY_FLAGS ?? '')
    .split(';')
    .filter((flags) => flags.trim())
    .map((flags) => ({
      name: `bundle ${flags.trim()}`,
      launch: { ...launcher, args: [...flags.trim().split(/\s+/), DATA_PLANE_BUNDLE] },
    })),
];

/** Resident set size in MB, as `ps` reports it. */
function rssMb(pid: number): number {
  return Math.round(
    Number(execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' })) / 1024,
  );
}

const slugs = Array.from({ length: PRODUCTS }, (_, index) => `product-${index + 1}`);
const rows = [];
for (const variant of variants) {
  const shop = await startBenchShop(PRODUCTS, variant.launch);
  await sleep(2_000);
  const started = rssMb(shop.pid);
  for (let request = 0; request < 100; request++) {
    const path = request % 2 ? `/items/${pick(slugs)}` : `/?page=${1 + (request % 20)}`;
    const response = await fetch(new URL(path, shop.base), { headers: { host: HOST } });
    if (!response.ok) throw new Error(`${path} answered ${response.status}`);
    await response.arrayBuffer();
  }
  await sleep(IDLE_MS);
  const afterRequests = rssMb(shop.pid);
  const burst = await measure(shop.base, 'items', {
    headers: { host: HOST },
    requests: [{ setupRequest: (req) => ({ ...req, path: `/items/${pick(slugs)}` }) }],
  });
  const afterBurst = rssMb(shop.pid);
  await sleep(IDLE_MS);
  rows.push({
    'started as': variant.name,
    'idle after start MB': started,
    '100 requests + 10 s idle MB': afterRequests,
    'burst item req/s': burst['req/s'],
    'burst p99 ms': burst['p99 ms'],
    'end of burst MB': afterBurst,
    'burst + 10 s idle MB': rssMb(shop.pid),
  });
  await shop.stop();
}

console.log(
  `data-plane memory: ${machineSummary()}, ${PRODUCTS} products, burst ${CONNECTIONS} connections for ${DURATION_SECONDS} s`,
);
console.table(rows);
