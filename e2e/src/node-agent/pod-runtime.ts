import { mkdir, rm } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import { type StartedProcess, startProcess } from '@amanat/kit/process/child';
import {
  type CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1Container,
  type V1Pod,
} from '@kubernetes/client-node';
import { type LocalProgram, programForImage } from './images.ts';
import {
  ContainerConfigError,
  expandReferences,
  localPathTranslator,
  materialiseVolumes,
  PodObjects,
  resolveEnvironment,
} from './pod-config.ts';
import { Prober, unsupportedProbe } from './probes.ts';

export interface PodRuntimeContext {
  core: CoreV1Api;
  images: Readonly<Record<string, LocalProgram>>;
  /** Each pod gets a directory here: its volumes and its containers' logs. */
  podsDir: string;
  /** Variables every container gets first (the API server's address, as Kubernetes service env). */
  baseEnv: Record<string, string>;
  restartDelayMs: number;
  maxRestartDelayMs: number;
  log(message: string): void;
}

interface Terminated {
  exitCode: number;
  signal?: number;
  reason: string;
  message?: string;
  startedAt: string;
  finishedAt: string;
  pid: number;
}

type ContainerState =
  | { kind: 'waiting'; reason: string; message?: string }
  | { kind: 'running'; startedAt: string; process: StartedProcess }
  | ({ kind: 'terminated' } & Terminated);

interface ContainerRun {
  spec: V1Container;
  state: ContainerState;
  lastTerminated?: Terminated;
  restartCount: number;
  /** Exits since the container last ran long enough; sets the restart back-off. */
  crashesInARow: number;
  ready: boolean;
  started: boolean;
  probers: Prober[];
  retryTimer?: NodeJS.Timeout;
  /** Why the agent is ending the running process (a failed probe), for its terminated state. */
  killedBecause?: string;
}

/** A container that ran this long (twice the longest back-off) restarts without delay. */
const healthyRunMs = (context: PodRuntimeContext) => 2 * context.maxRestartDelayMs;
const CONFIG_RETRY_MS = 2000;
const MANAGED_CONDITIONS = ['PodReadyToStartContainers', 'Initialized', 'ContainersReady', 'Ready'];

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * One pod bound to the node: its containers as local processes on the pod's loopback address,
 * their probes and restarts, and the pod's status as the kubelet would write it.
 */
export class PodRuntime {
  private readonly containers: ContainerRun[];
  private readonly dir: string;
  private readonly startTime = now();
  private readonly transitions = new Map<string, { status: string; at: string }>();
  private volumes: Map<string, string> | undefined;
  private stopping = false;
  private deleting = false;
  private gone = false;
  private writing: Promise<void> | undefined;
  private dirty = false;
  private lastWritten = '';

  constructor(
    private readonly context: PodRuntimeContext,
    private pod: V1Pod,
    readonly podIP: string,
  ) {
    const { namespace, name, uid } = pod.metadata ?? {};
    this.dir = join(context.podsDir, `${namespace}_${name}_${uid}`);
    this.containers = (pod.spec?.containers ?? []).map((spec) => ({
      spec,
      state: { kind: 'waiting', reason: 'ContainerCreating' },
      restartCount: 0,
      crashesInARow: 0,
      ready: false,
      started: false,
      probers: [],
    }));
  }

  get name(): string {
    return `${this.pod.metadata?.namespace}/${this.pod.metadata?.name}`;
  }

  /** Running container processes. */
  pids(): { container: string; pid: number }[] {
    return this.containers.flatMap((run) =>
      run.state.kind === 'running' ? [{ container: run.spec.name, pid: run.state.process.pid }] : [],
    );
  }

  async start(): Promise<void> {
    await mkdir(join(this.dir, 'logs'), { recursive: true });
    if (this.pod.spec?.initContainers?.length) {
      for (const run of this.containers) {
        run.state = {
          kind: 'waiting',
          reason: 'CreateContainerConfigError',
          message: 'init containers are not supported by the e2e node agent',
        };
      }
      this.changed();
      return;
    }
    this.changed();
    for (const run of this.containers) void this.launch(run);
  }

  /** A newer version of the pod from the API server; a deletion timestamp starts graceful termination. */
  update(pod: V1Pod): void {
    this.pod = pod;
    if (!pod.metadata?.deletionTimestamp || this.deleting) return;
    this.deleting = true;
    const graceSeconds =
      pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    void this.stopContainers(graceSeconds * 1000).then(() => this.deleteFromApi());
  }

  /** The pod is gone from the API server, or the agent stops: end its processes, remove its volumes. */
  async shutdown(graceMs: number): Promise<void> {
    this.gone = true;
    await this.stopContainers(graceMs);
    await rm(join(this.dir, 'volumes'), { recursive: true, force: true });
  }

  private async stopContainers(graceMs: number): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.containers.map(async (run) => {
        clearTimeout(run.retryTimer);
        for (const prober of run.probers) prober.stop();
        if (run.state.kind === 'running') await run.state.process.stop(graceMs);
      }),
    );
  }

  private async deleteFromApi(): Promise<void> {
    await this.writing;
    const { name = '', namespace = '', uid } = this.pod.metadata ?? {};
    await this.context.core
      .deleteNamespacedPod({
        name,
        namespace,
        // In the body: the API server reads delete options from the body when there is one.
        body: { gracePeriodSeconds: 0, preconditions: { uid } },
      })
      .catch((error: { code?: number }) => {
        if (error.code !== 404) this.context.log(`deleting pod ${this.name}: ${String(error)}`);
      });
  }

  private async launch(run: ContainerRun): Promise<void> {
    if (this.stopping) return;
    const spec = run.spec;
    const program = programForImage(spec.image ?? '', this.context.images);
    if (!program) {
      run.state = {
        kind: 'waiting',
        reason: 'ErrImagePull',
        message: `image "${spec.image}" is not in the e2e node agent's image table (e2e/src/node-agent/images.ts: ${Object.keys(this.context.images).join(', ')})`,
      };
      return this.changed();
    }
    const unsupported = spec.command?.length
      ? 'container command overrides are not supported: the image table gives the entry point (args are appended)'
      : unsupportedProbe(spec);
    if (unsupported) {
      run.state = { kind: 'waiting', reason: 'CreateContainerConfigError', message: unsupported };
      return this.changed();
    }

    let env: Record<string, string>;
    let args: string[];
    try {
      const objects = new PodObjects(this.context.core, this.pod.metadata?.namespace ?? 'default');
      this.volumes ??= await materialiseVolumes(this.pod, join(this.dir, 'volumes'), objects);
      const translate = localPathTranslator(spec, this.volumes);
      const firstPort = spec.ports?.[0]?.containerPort;
      const base = {
        ...this.context.baseEnv,
        HOSTNAME: this.pod.metadata?.name ?? '',
        ...(firstPort ? { PORT: String(firstPort) } : {}),
      };
      const resolved = await resolveEnvironment(this.pod, spec, this.podIP, objects, base);
      env = Object.fromEntries(Object.entries(resolved).map(([key, value]) => [key, translate(value)]));
      // The program binds HOST:PORT. HOST is always the pod's own address: the 0.0.0.0 a
      // manifest may give would take the port on every address and collide with other pods.
      env.HOST = this.podIP;
      env.PATH ??= process.env.PATH ?? '/usr/bin:/bin';
      args = (spec.args ?? []).map((arg) => translate(expandReferences(arg, resolved)));
    } catch (error) {
      const message =
        error instanceof ContainerConfigError ? error.message : `reading the pod's objects: ${String(error)}`;
      run.state = { kind: 'waiting', reason: 'CreateContainerConfigError', message };
      this.changed();
      run.retryTimer = setTimeout(() => void this.launch(run), CONFIG_RETRY_MS);
      return;
    }
    if (this.stopping) return;

    const [command = process.execPath, ...entryArgs] = program.argv;
    const child = startProcess({
      name: `${this.name}/${spec.name}`,
      command,
      args: [...entryArgs, ...args],
      env,
      cwd: program.cwd,
      logFile: join(this.dir, 'logs', `${spec.name}.log`),
      lifetime: 'tied',
    });
    const startedAt = now();
    run.state = { kind: 'running', startedAt, process: child };
    run.started = !spec.startupProbe;
    run.ready = run.started && !spec.readinessProbe;
    if (spec.startupProbe) {
      this.addProber(run, spec.startupProbe, (healthy) => {
        if (!healthy) return this.kill(run, child, 'Startup probe failed');
        run.started = true;
        this.startHealthProbes(run, child);
        this.changed();
      });
    } else {
      this.startHealthProbes(run, child);
    }
    this.changed();

    const exit = await child.exited;
    for (const prober of run.probers) prober.stop();
    run.probers = [];
    const signalNumber = exit.signal ? constants.signals[exit.signal] : undefined;
    const exitCode = exit.code ?? 128 + (signalNumber ?? 0);
    const terminated: Terminated = {
      exitCode,
      ...(signalNumber ? { signal: signalNumber } : {}),
      reason: exitCode === 0 ? 'Completed' : 'Error',
      ...(run.killedBecause ? { message: run.killedBecause } : {}),
      startedAt,
      finishedAt: now(),
      pid: child.pid,
    };
    run.killedBecause = undefined;
    run.state = { kind: 'terminated', ...terminated };
    run.ready = false;
    run.started = false;
    if (this.stopping) return this.changed();

    const policy = this.pod.spec?.restartPolicy ?? 'Always';
    if (policy === 'Never' || (policy === 'OnFailure' && exitCode === 0)) return this.changed();
    const ranMs = Date.parse(terminated.finishedAt) - Date.parse(startedAt);
    run.crashesInARow = ranMs >= healthyRunMs(this.context) ? 1 : run.crashesInARow + 1;
    const delayMs =
      run.crashesInARow <= 1
        ? 0
        : Math.min(
            this.context.restartDelayMs * 2 ** (run.crashesInARow - 2),
            this.context.maxRestartDelayMs,
          );
    run.lastTerminated = terminated;
    run.state =
      delayMs > 0
        ? {
            kind: 'waiting',
            reason: 'CrashLoopBackOff',
            message: `back-off ${Math.round(delayMs / 1000)}s restarting failed container=${spec.name} pod=${this.pod.metadata?.name}`,
          }
        : { kind: 'waiting', reason: 'ContainerCreating' };
    this.changed();
    run.retryTimer = setTimeout(() => {
      run.restartCount++;
      void this.launch(run);
    }, delayMs);
  }

  private startHealthProbes(run: ContainerRun, child: StartedProcess): void {
    const { livenessProbe, readinessProbe } = run.spec;
    if (livenessProbe) {
      this.addProber(run, livenessProbe, (healthy) => {
        if (!healthy) this.kill(run, child, 'Liveness probe failed');
      });
    }
    if (readinessProbe) {
      this.addProber(run, readinessProbe, (healthy) => {
        run.ready = healthy;
        this.changed();
      });
    } else if (run.started) {
      run.ready = true;
    }
  }

  private addProber(
    run: ContainerRun,
    probe: NonNullable<V1Container['livenessProbe']>,
    onVerdict: (healthy: boolean) => void,
  ) {
    const prober = new Prober(probe, run.spec, this.podIP, onVerdict);
    run.probers.push(prober);
    prober.start();
  }

  /** Ends a container whose probe failed; the exit handler then restarts it per the restart policy. */
  private kill(run: ContainerRun, child: StartedProcess, why: string): void {
    this.context.log(`${this.name}/${run.spec.name}: ${why}, ending the container`);
    run.killedBecause = why;
    const graceSeconds = this.pod.spec?.terminationGracePeriodSeconds ?? 30;
    void child.stop(graceSeconds * 1000);
  }

  private phase(): string {
    const states = this.containers.map((run) => run.state);
    // A container that will restart is waiting, so all-terminated means the pod is done.
    if (states.every((state) => state.kind === 'terminated')) {
      return states.every((state) => state.kind === 'terminated' && state.exitCode === 0)
        ? 'Succeeded'
        : 'Failed';
    }
    const everRan = this.containers.some((run) => run.state.kind !== 'waiting' || run.lastTerminated);
    return everRan ? 'Running' : 'Pending';
  }

  private condition(type: string, healthy: boolean) {
    const status = healthy ? 'True' : 'False';
    let transition = this.transitions.get(type);
    if (transition?.status !== status) {
      transition = { status, at: now() };
      this.transitions.set(type, transition);
    }
    return { type, status, lastTransitionTime: transition.at };
  }

  /** The container's status in the API's JSON form (times as RFC 3339 strings). */
  private containerStatus(run: ContainerRun) {
    const repository = run.spec.image ?? '';
    const stateOf = (state: ContainerState) => {
      if (state.kind === 'waiting') return { waiting: { reason: state.reason, message: state.message } };
      if (state.kind === 'running') return { running: { startedAt: state.startedAt } };
      return {
        terminated: {
          exitCode: state.exitCode,
          signal: state.signal,
          reason: state.reason,
          message: state.message,
          startedAt: state.startedAt,
          finishedAt: state.finishedAt,
          containerID: `amanat-e2e://${state.pid}`,
        },
      };
    };
    const pid =
      run.state.kind === 'running'
        ? run.state.process.pid
        : run.state.kind === 'terminated'
          ? run.state.pid
          : undefined;
    return {
      name: run.spec.name,
      image: repository,
      imageID: `amanat-e2e://${repository}`,
      ...(pid ? { containerID: `amanat-e2e://${pid}` } : {}),
      ready: run.ready,
      started: run.started,
      restartCount: run.restartCount,
      state: stateOf(run.state),
      lastState: run.lastTerminated ? stateOf({ kind: 'terminated', ...run.lastTerminated }) : {},
    };
  }

  private statusDocument() {
    const allReady = this.containers.every((run) => run.ready);
    const others = (this.pod.status?.conditions ?? []).filter((c) => !MANAGED_CONDITIONS.includes(c.type));
    return {
      status: {
        phase: this.phase(),
        hostIP: '127.0.0.1',
        hostIPs: [{ ip: '127.0.0.1' }],
        podIP: this.podIP,
        podIPs: [{ ip: this.podIP }],
        startTime: this.startTime,
        conditions: [
          ...others,
          this.condition('PodReadyToStartContainers', true),
          this.condition('Initialized', !this.pod.spec?.initContainers?.length),
          this.condition('ContainersReady', allReady),
          this.condition('Ready', allReady),
        ],
        containerStatuses: this.containers.map((run) => this.containerStatus(run)),
      },
    };
  }

  /** Writes the status when it changed; one write at a time, the latest state last. */
  private changed(): void {
    if (this.gone) return;
    if (this.writing) {
      this.dirty = true;
      return;
    }
    this.writing = this.writeStatus().finally(() => {
      this.writing = undefined;
      if (this.dirty) {
        this.dirty = false;
        this.changed();
      }
    });
  }

  private async writeStatus(): Promise<void> {
    const body = this.statusDocument();
    const serialized = JSON.stringify(body);
    if (serialized === this.lastWritten) return;
    const { name = '', namespace = '' } = this.pod.metadata ?? {};
    try {
      // A merge patch replaces the lists whole: containerStatuses are ours, and the conditions
      // others own (PodScheduled) are carried over from the latest pod.
      await this.context.core.patchNamespacedPodStatus(
        { name, namespace, body },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      this.lastWritten = serialized;
    } catch (error) {
      if ((error as { code?: number }).code === 404) return;
      this.context.log(`writing the status of pod ${this.name}: ${String(error)}`);
      setTimeout(() => this.changed(), 1000);
    }
  }
}
