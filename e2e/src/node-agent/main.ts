// The node agent as its own process, for `npm run cluster:up`: SIGTERM stops its pods' processes.
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { startNodeAgent } from './agent.ts';

const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    'node-name': { type: 'string', default: 'e2e-node' },
    'state-dir': { type: 'string' },
  },
});
if (!values.kubeconfig || !values['state-dir']) {
  console.error('usage: node-agent --kubeconfig=<node kubeconfig> --state-dir=<dir> [--node-name=e2e-node]');
  process.exit(2);
}
const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(values.kubeconfig);
const agent = await startNodeAgent({
  kubeConfig,
  nodeName: values['node-name'],
  stateDir: values['state-dir'],
});
console.error(`node-agent: node ${agent.nodeName} registered, running its pods`);
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void agent.stop().then(() => process.exit(0));
  });
}
