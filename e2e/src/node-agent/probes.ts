import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { V1Container, V1Probe } from '@kubernetes/client-node';

/** The probe handlers the agent can run against a local process; exec and gRPC are not among them. */
export function unsupportedProbe(container: V1Container): string | undefined {
  const probes = {
    livenessProbe: container.livenessProbe,
    readinessProbe: container.readinessProbe,
    startupProbe: container.startupProbe,
  };
  for (const [kind, probe] of Object.entries(probes)) {
    if (probe && !probe.httpGet && !probe.tcpSocket)
      return `${kind}: only httpGet and tcpSocket probes are supported`;
  }
  return undefined;
}

function portOf(container: V1Container, port: number | string): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort ?? 0;
}

/** One probe attempt, as the kubelet does it: HTTP 200–399 or an accepted TCP connection within the timeout. */
export function probeOnce(probe: V1Probe, container: V1Container, podIP: string): Promise<boolean> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  return new Promise((resolve) => {
    if (probe.tcpSocket) {
      const socket = connect({
        host: probe.tcpSocket.host || podIP,
        port: portOf(container, probe.tcpSocket.port),
      });
      socket.setTimeout(timeoutMs, () => socket.destroy(new Error('timeout')));
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
      return;
    }
    const get = probe.httpGet;
    if (!get) return resolve(false);
    const request = get.scheme === 'HTTPS' ? httpsRequest : httpRequest;
    const req = request(
      {
        host: get.host || podIP,
        port: portOf(container, get.port),
        path: get.path || '/',
        headers: Object.fromEntries((get.httpHeaders ?? []).map((h) => [h.name, h.value])),
        timeout: timeoutMs,
        // The kubelet does not verify probe certificates either.
        rejectUnauthorized: false,
      },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        resolve(status >= 200 && status < 400);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
    req.end();
  });
}

/**
 * Runs one probe on its period and reports each change of its verdict: `true` after
 * successThreshold consecutive successes, `false` after failureThreshold consecutive failures.
 */
export class Prober {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private successes = 0;
  private failures = 0;
  private verdict: boolean | undefined;

  constructor(
    private readonly probe: V1Probe,
    private readonly container: V1Container,
    private readonly podIP: string,
    private readonly onVerdict: (healthy: boolean) => void,
  ) {}

  start(): void {
    this.schedule((this.probe.initialDelaySeconds ?? 0) * 1000);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    const healthy = await probeOnce(this.probe, this.container, this.podIP);
    if (this.stopped) return;
    if (healthy) {
      this.successes++;
      this.failures = 0;
      if (this.successes >= (this.probe.successThreshold ?? 1)) this.report(true);
    } else {
      this.failures++;
      this.successes = 0;
      if (this.failures >= (this.probe.failureThreshold ?? 3)) this.report(false);
    }
    this.schedule((this.probe.periodSeconds ?? 10) * 1000);
  }

  private report(healthy: boolean): void {
    if (this.verdict === healthy) return;
    this.verdict = healthy;
    this.onVerdict(healthy);
  }
}
