import { cpus, loadavg, totalmem } from 'node:os';

/**
 * The machine a benchmark ran on, for its header line: results on the same core count have
 * differed several-fold between hosts and with neighbours busy, so the CPU model and the load
 * at the start are part of every recorded result.
 */
export function machineSummary(): string {
  const processors = cpus();
  const model = processors[0]?.model.trim() ?? 'unknown CPU';
  const load = loadavg()[0]?.toFixed(2) ?? '?';
  return `${processors.length} cores (${model}), ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}, load ${load}`;
}
