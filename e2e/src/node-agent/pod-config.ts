import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import type { CoreV1Api, V1Container, V1Pod } from '@kubernetes/client-node';

/**
 * A container cannot be configured yet (a missing Secret, ConfigMap or key, or a pod-spec
 * feature the agent does not provide); shown as the `CreateContainerConfigError` waiting
 * reason, as the kubelet does, and retried.
 */
export class ContainerConfigError extends Error {}

/** Reads the Secrets and ConfigMaps a pod refers to, once per configuration attempt. */
export class PodObjects {
  private readonly secrets = new Map<string, Promise<Record<string, string> | undefined>>();
  private readonly configMaps = new Map<string, Promise<Record<string, string> | undefined>>();

  constructor(
    private readonly core: CoreV1Api,
    private readonly namespace: string,
  ) {}

  secret(name: string): Promise<Record<string, string> | undefined> {
    let entry = this.secrets.get(name);
    if (!entry) {
      entry = this.core
        .readNamespacedSecret({ name, namespace: this.namespace })
        .then(
          (secret) =>
            Object.fromEntries(
              Object.entries(secret.data ?? {}).map(([key, value]) => [
                key,
                Buffer.from(value, 'base64').toString(),
              ]),
            ),
          notFoundAsUndefined,
        );
      this.secrets.set(name, entry);
    }
    return entry;
  }

  configMap(name: string): Promise<Record<string, string> | undefined> {
    let entry = this.configMaps.get(name);
    if (!entry) {
      entry = this.core.readNamespacedConfigMap({ name, namespace: this.namespace }).then(
        (configMap) => ({
          ...Object.fromEntries(
            Object.entries(configMap.binaryData ?? {}).map(([key, value]) => [
              key,
              Buffer.from(value, 'base64').toString(),
            ]),
          ),
          ...configMap.data,
        }),
        notFoundAsUndefined,
      );
      this.configMaps.set(name, entry);
    }
    return entry;
  }
}

function notFoundAsUndefined(error: unknown): undefined {
  if ((error as { code?: number }).code === 404) return undefined;
  throw error;
}

async function keyOf(
  kind: 'Secret' | 'ConfigMap',
  objects: PodObjects,
  ref: { name?: string; key: string; optional?: boolean },
  namespace: string,
): Promise<string | undefined> {
  const name = ref.name ?? '';
  const data = kind === 'Secret' ? await objects.secret(name) : await objects.configMap(name);
  if (!data) {
    if (ref.optional) return undefined;
    throw new ContainerConfigError(`${kind.toLowerCase()} "${name}" not found`);
  }
  const value = data[ref.key];
  if (value === undefined && !ref.optional) {
    throw new ContainerConfigError(`couldn't find key ${ref.key} in ${kind} ${namespace}/${name}`);
  }
  return value;
}

/** The downward-API fields an env var may name, as the kubelet resolves them. */
function fieldValue(pod: V1Pod, fieldPath: string, podIP: string): string {
  const metadata = pod.metadata ?? {};
  const subscript = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (subscript) {
    const map = subscript[1] === 'labels' ? metadata.labels : metadata.annotations;
    return map?.[subscript[2] ?? ''] ?? '';
  }
  const fields: Record<string, string | undefined> = {
    'metadata.name': metadata.name,
    'metadata.namespace': metadata.namespace,
    'metadata.uid': metadata.uid,
    'spec.nodeName': pod.spec?.nodeName,
    'spec.serviceAccountName': pod.spec?.serviceAccountName,
    'status.hostIP': '127.0.0.1',
    'status.hostIPs': '127.0.0.1',
    'status.podIP': podIP,
    'status.podIPs': podIP,
  };
  if (!(fieldPath in fields)) throw new ContainerConfigError(`unsupported fieldRef fieldPath ${fieldPath}`);
  return fields[fieldPath] ?? '';
}

/** `$(NAME)` expands to an earlier variable, `$$` is a literal `$`; unknown references stay as written. */
export function expandReferences(value: string, env: Record<string, string>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) =>
    name === undefined ? '$' : (env[name] ?? match),
  );
}

/**
 * The container's environment as the kubelet builds it — `base` (service variables), then
 * `envFrom` in order, then `env` with `$(VAR)` references and `valueFrom` — Secrets and
 * ConfigMaps read through the node's own credentials.
 */
export async function resolveEnvironment(
  pod: V1Pod,
  container: V1Container,
  podIP: string,
  objects: PodObjects,
  base: Record<string, string>,
): Promise<Record<string, string>> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const env: Record<string, string> = { ...base };
  for (const source of container.envFrom ?? []) {
    const ref = source.secretRef ?? source.configMapRef;
    const kind = source.secretRef ? 'Secret' : 'ConfigMap';
    const name = ref?.name ?? '';
    const data = kind === 'Secret' ? await objects.secret(name) : await objects.configMap(name);
    if (!data) {
      if (ref?.optional) continue;
      throw new ContainerConfigError(`${kind.toLowerCase()} "${name}" not found`);
    }
    for (const [key, value] of Object.entries(data)) env[`${source.prefix ?? ''}${key}`] = value;
  }
  for (const variable of container.env ?? []) {
    const from = variable.valueFrom;
    let value: string | undefined;
    if (!from) value = expandReferences(variable.value ?? '', env);
    else if (from.secretKeyRef) value = await keyOf('Secret', objects, from.secretKeyRef, namespace);
    else if (from.configMapKeyRef) value = await keyOf('ConfigMap', objects, from.configMapKeyRef, namespace);
    else if (from.fieldRef) value = fieldValue(pod, from.fieldRef.fieldPath, podIP);
    else
      throw new ContainerConfigError(
        `env ${variable.name}: only value, secretKeyRef, configMapKeyRef and fieldRef are supported`,
      );
    if (value !== undefined) env[variable.name] = value;
  }
  return env;
}

/**
 * Writes the pod's `secret`, `configMap` and `emptyDir` volumes under `dir`, one directory per
 * volume, and returns them by volume name. Other volume types (projected ServiceAccount
 * tokens among them) are not materialised.
 */
export async function materialiseVolumes(
  pod: V1Pod,
  dir: string,
  objects: PodObjects,
): Promise<Map<string, string>> {
  const volumes = new Map<string, string>();
  for (const volume of pod.spec?.volumes ?? []) {
    const volumeDir = join(dir, volume.name);
    if (volume.emptyDir) {
      await mkdir(volumeDir, { recursive: true });
    } else if (volume.secret || volume.configMap) {
      const source = volume.secret ?? volume.configMap;
      const kind = volume.secret ? 'Secret' : 'ConfigMap';
      const name = volume.secret?.secretName ?? volume.configMap?.name ?? '';
      const data = kind === 'Secret' ? await objects.secret(name) : await objects.configMap(name);
      if (!data && !source?.optional)
        throw new ContainerConfigError(`${kind.toLowerCase()} "${name}" not found`);
      await mkdir(volumeDir, { recursive: true });
      const items =
        source?.items ?? Object.keys(data ?? {}).map((key) => ({ key, path: key, mode: undefined }));
      for (const item of items) {
        const value = data?.[item.key];
        if (value === undefined)
          throw new ContainerConfigError(`couldn't find key ${item.key} in ${kind} ${name}`);
        const path = join(volumeDir, normalize(item.path));
        if (!path.startsWith(`${volumeDir}/`))
          throw new ContainerConfigError(`volume ${volume.name}: item path ${item.path} leaves the volume`);
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, value);
        await chmod(path, item.mode ?? source?.defaultMode ?? 0o644);
      }
    } else {
      continue;
    }
    volumes.set(volume.name, volumeDir);
  }
  return volumes;
}

/**
 * Without a mount namespace a process sees the host's files, so a container path under one of
 * its volume mounts (`/etc/secrets/db-url`) is rewritten to where the agent wrote that volume.
 * Applied to env values and args.
 */
export function localPathTranslator(
  container: V1Container,
  volumes: Map<string, string>,
): (value: string) => string {
  const mounts = (container.volumeMounts ?? [])
    .filter((mount) => volumes.has(mount.name))
    .map((mount) => ({
      containerPath: mount.mountPath.replace(/\/+$/, ''),
      localPath: join(volumes.get(mount.name) ?? '', mount.subPath ?? ''),
    }))
    .sort((a, b) => b.containerPath.length - a.containerPath.length);
  return (value) => {
    for (const { containerPath, localPath } of mounts) {
      if (value === containerPath) return localPath;
      if (value.startsWith(`${containerPath}/`)) return localPath + value.slice(containerPath.length);
    }
    return value;
  };
}
