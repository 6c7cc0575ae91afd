// `npm run cluster:up` / `npm run cluster:down`: a real Kubernetes control plane and the node
// agent on loopback, left running between the two, its state in .e2e/cluster (git-ignored).
import { DEFAULT_STATE_DIR, runningClusterInDir, startCluster, stopClusterInDir } from './cluster.ts';

const command = process.argv[2];
const stateDir = DEFAULT_STATE_DIR;

if (command === 'up') {
  if (process.env.KUBECONFIG) {
    console.log(
      `KUBECONFIG is set (${process.env.KUBECONFIG}): the tests use that cluster; nothing started.`,
    );
    process.exit(0);
  }
  const running = await runningClusterInDir(stateDir);
  if (running) {
    console.log(`A cluster is already running (API server ${running.server}).`);
    console.log(`export KUBECONFIG=${running.kubeconfigPath}`);
    process.exit(0);
  }
  // Whatever a crashed run left behind (dead pids, old certificates) is not reused.
  await stopClusterInDir(stateDir);
  const startedAt = Date.now();
  const cluster = await startCluster({ stateDir, lifetime: 'detached' });
  console.log(
    `Kubernetes is up in ${((Date.now() - startedAt) / 1000).toFixed(1)} s (state and logs in ${stateDir}).`,
  );
  console.log(`export KUBECONFIG=${cluster.kubeconfigPath}`);
} else if (command === 'down') {
  const stopped = await stopClusterInDir(stateDir);
  console.log(stopped ? 'Cluster stopped; its state is removed.' : 'No cluster was running.');
} else {
  console.error('usage: cli.ts up|down');
  process.exit(2);
}
