import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tenantObjectNames } from '@amanat/data-plane/provisioning/names';
import { Provisioner } from '@amanat/data-plane/provisioning/provisioner';
import { isProcessAlive } from '@amanat/kit/postgres/embedded';
import { databaseUrl, withAdminClient } from '@amanat/kit/postgres/test-databases';
import { createTransport } from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type Answer,
  type LocalTestPlatform,
  PASSWORD,
  processesOfTenants,
  startLocalTestPlatform,
  type TenantView,
  until,
} from './harness.ts';

// A real cluster and real processes: each step waits with its own deadline, longer than the default test timeout.
vi.setConfig({ testTimeout: 240_000 });

/**
 * The local platform end to end, as `npm start` runs it: embedded PostgreSQL, the control
 * plane, the local runtime's data-plane processes and the Host router. A tenant goes through
 * its whole life through the control-plane API (approve, suspend, reactivate, a crash, close)
 * and each step shows on its host through the router and in the tenant API's status.
 */

/** Generous for a loaded CI machine; the 3 s target is measured by `npm run bench:local`. */
const READY_WITHIN_MS = 15_000;

let local: LocalTestPlatform;
let provisioner: Provisioner | undefined;
let tenant: { id: string; slug: string };
const host = () => `${tenant.slug}.localhost`;
/** Every data-plane pid the test saw, to prove none is left after stop(). */
const dataPlanePids = new Set<number>();

const supervisor = () => {
  const found = local.platform.runtime.supervisorOf(tenant.id);
  if (!found) throw new Error(`no data plane supervised for ${tenant.slug}`);
  return found;
};
const notePid = () => {
  const pid = supervisor().status.pid;
  if (pid) dataPlanePids.add(pid);
  return pid;
};
const condition = (view: TenantView, type: string) => view.cluster?.conditions.find((c) => c.type === type);

async function transition(action: string, body: Record<string, string> = {}) {
  const response = await local.asAdmin('POST', `/admin/tenants/${tenant.id}/${action}`, body);
  expect(response.status, JSON.stringify(response.json)).toBe(200);
}

async function answersWith(status: number) {
  let last: Answer | undefined;
  try {
    await until(
      `${host()} to answer ${status}`,
      async () => {
        last = await local.get(host());
        return last.status === status;
      },
      READY_WITHIN_MS,
    );
  } catch (error) {
    throw new Error(
      `${error}; last answer ${last?.status} ${last?.text.slice(0, 200)}; data plane ${JSON.stringify(supervisor().status)}`,
    );
  }
}

beforeAll(async () => {
  local = await startLocalTestPlatform({ seedDemo: false });
  provisioner = await Provisioner.open({ adminUrl: local.postgres.adminUrl });
});

async function closeProvisioner() {
  await provisioner?.close();
  provisioner = undefined;
}

afterAll(async () => {
  await closeProvisioner();
  await local?.stop();
});

describe('the local platform', () => {
  it('reports the router it bound on port 0, serves the control plane on admin.localhost and 404s unknown hosts', async () => {
    expect(local.routerPort).toBeGreaterThan(0);
    const admin = await local.get('admin.localhost', '/healthz');
    expect(admin.status).toBe(200);
    const unknown = await local.get('nobody.localhost');
    expect(unknown.status).toBe(404);
    expect(unknown.text).not.toMatch(/amanat/i);
  });

  it('brings a tenant approved through the API up on <slug>.localhost, Ready in the tenant API', async () => {
    const seller = await local.call('POST', '/auth/register', {
      email: 'seller@example.com',
      password: PASSWORD,
      display_name: 'Seller',
    });
    expect(seller.status, JSON.stringify(seller.json)).toBe(201);
    const login = await local.call<{ access_token: string }>('POST', '/auth/login', {
      email: 'seller@example.com',
      password: PASSWORD,
    });
    const requested = await local.call<{ id: string; slug: string }>(
      'POST',
      '/tenants',
      { slug: 'lifecycle-shop', display_name: 'Lifecycle shop', tier: 'white_label' },
      login.json.access_token,
    );
    expect(requested.status, JSON.stringify(requested.json)).toBe(201);
    tenant = requested.json;
    // A pending tenant has no data plane and no host.
    expect((await local.get(host())).status).toBe(404);

    const approvedAt = Date.now();
    await transition('approve');
    await answersWith(200);
    const readyAfterMs = Date.now() - approvedAt;
    console.info(`local platform: approve → storefront 200 on ${host()} in ${readyAfterMs} ms`);
    expect(readyAfterMs).toBeLessThan(READY_WITHIN_MS);
    notePid();

    const view = await until('phase Ready', async () => {
      const current = await local.tenant(tenant.id);
      return current.cluster?.phase === 'Ready' ? current : undefined;
    });
    expect(condition(view, 'DataPlaneAvailable')).toMatchObject({ status: 'True', reason: 'ProcessReady' });
    expect(condition(view, 'DatabaseReady')?.message).toBe('schema mode');
  });

  it('mails a guest’s order confirmation to the local mailbox, whose link opens the order through the router', async () => {
    const { mailbox, smtpUrl } = local.platform.mail;
    if (!mailbox) throw new Error('the local platform started no mailbox');
    expect(smtpUrl).toBe(mailbox.url);
    const environ = (await readFile(`/proc/${notePid()}/environ`, 'utf8')).split('\0');
    expect(environ).toContain(`SMTP_URL=${smtpUrl}`);

    // The owner puts a product on sale with a staff token from the control plane.
    const owner = await local.call<{ access_token: string }>('POST', '/auth/login', {
      email: 'seller@example.com',
      password: PASSWORD,
    });
    const staff = await local.call<{ token: string }>(
      'POST',
      `/tenants/${tenant.id}/data-plane-token`,
      undefined,
      owner.json.access_token,
    );
    expect(staff.status, JSON.stringify(staff.json)).toBe(201);
    const product = await local.post(
      host(),
      '/api/admin/products',
      { slug: 'mug', title: 'Mug', variants: [{ sku: 'MUG-1', price_minor: 1500, stock: 5 }] },
      { authorization: `Bearer ${staff.json.token}` },
    );
    expect(product.status, product.text).toBe(201);
    const variantId = (JSON.parse(product.text) as { variants: { id: string }[] }).variants[0]?.id;

    const guest = `guest-${Date.now()}@example.com`;
    const placed = await local.post(
      host(),
      '/api/storefront/checkout',
      {
        lines: [{ variant_id: variantId, quantity: 1 }],
        email: guest,
        shipping_address: { recipient_name: 'Guest', line1: '1 Main Street', city: 'Oslo', country: 'NO' },
      },
      { 'idempotency-key': randomUUID() },
    );
    expect(placed.status, placed.text).toBe(201);
    const orderId = (JSON.parse(placed.text) as { id: string }).id;

    const listed = await until('the order confirmation in the mailbox', async () => {
      const answer = await local.get('admin.localhost', '/mailbox.json');
      if (answer.status !== 200) return undefined;
      const { items } = JSON.parse(answer.text) as { items: { id: string; to: string[] }[] };
      return items.find((mail) => mail.to.includes(guest));
    });
    const mail = await local.get('admin.localhost', `/mailbox/${listed.id}.json`);
    expect(mail.status).toBe(200);
    const { text } = JSON.parse(mail.text) as { text: string };
    const link = new RegExp(`https?://\\S+/orders/${orderId}\\S*`).exec(text)?.[0];
    if (!link) throw new Error(`the confirmation has no link to order ${orderId}: ${text}`);
    // The link is the shop's own address at the router: http, its host and the router's port
    // (followed here by connecting to the router, as *.localhost need not resolve on this machine).
    const { origin, pathname, search } = new URL(link);
    expect(origin).toBe(`http://${host()}:${new URL(local.platform.routerUrl).port}`);
    const orderPage = await local.get(host(), `${pathname}${search}`);
    expect(orderPage.status, orderPage.text.slice(0, 300)).toBe(200);
    expect(orderPage.text).toContain(orderId);

    const page = await local.get('admin.localhost', `/mailbox/${listed.id}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain(guest);
    expect(await readdir(join(local.dataDir, 'mailbox'))).toContainEqual(expect.stringMatching(/\.eml$/));
    // The mailbox lives on the admin host: a shop's host does not have it.
    expect((await local.get(host(), '/mailbox.json')).status).toBe(404);
  });

  it('serves the unavailable page while suspended, and the shop again once reactivated', async () => {
    await transition('suspend', { reason: 'Unpaid invoice' });
    await answersWith(503);
    notePid();
    const suspended = await local.tenant(tenant.id);
    expect(suspended.cluster?.phase).toBe('Suspended');
    expect(condition(suspended, 'Suspended')?.status).toBe('True');

    await transition('reactivate');
    await answersWith(200);
    notePid();
    expect(
      (
        await until('phase Ready', async () => {
          const current = await local.tenant(tenant.id);
          return current.cluster?.phase === 'Ready' ? current : undefined;
        })
      ).cluster?.phase,
    ).toBe('Ready');
  });

  it('restarts a killed data plane, and the tenant API shows the crash and the restart', async () => {
    const killed = await until('a ready data plane', async () =>
      supervisor().status.state === 'ready' ? notePid() : undefined,
    );
    process.kill(killed as number, 'SIGKILL');
    // While it backs off (1 s after a first crash), the tenant is Degraded.
    const degraded = await until('phase Degraded', async () => {
      const current = await local.tenant(tenant.id);
      return current.cluster?.phase === 'Degraded' ? current : undefined;
    });
    expect(condition(degraded, 'DataPlaneAvailable')).toMatchObject({
      status: 'False',
      reason: 'CrashLoopBackOff',
    });

    const restarted = await until(
      'the restarted data plane to be Ready',
      async () => {
        const current = await local.tenant(tenant.id);
        return current.cluster?.phase === 'Ready' ? current : undefined;
      },
      READY_WITHIN_MS,
    );
    const message = condition(restarted, 'DataPlaneAvailable')?.message ?? '';
    expect(message).toMatch(/restarted 1 time, last exit SIGKILL/);
    const newPid = notePid();
    expect(newPid).not.toBe(killed);
    expect(supervisor().status.restarts).toBe(1);
    await answersWith(200);
  });

  it('closing the tenant takes a final backup, removes its database objects and its host', async () => {
    const names = tenantObjectNames(tenant.id);
    await transition('close');
    await until(
      'the tenant to be deprovisioned',
      async () => (await provisioner?.locate(tenant.id)) === null,
    );
    await local.platform.runtime.settled();

    const backups = (await readdir(join(local.dataDir, 'backups'), { recursive: true })).map(String);
    expect(backups.some((path) => path.includes(tenant.id) && path.endsWith('.tar.gz'))).toBe(true);
    const roles = await withAdminClient(local.postgres.adminUrl, (client) =>
      client.query('SELECT rolname FROM pg_roles WHERE rolname = ANY($1)', [[names.app, names.owner]]),
    );
    expect(roles.rows).toEqual([]);
    const schemas = await withAdminClient(databaseUrl(local.postgres.adminUrl, 'shops_schemas'), (client) =>
      client.query('SELECT nspname FROM pg_namespace WHERE nspname = $1', [names.schema]),
    );
    expect(schemas.rows).toEqual([]);
    expect((await local.get(host())).status).toBe(404);
    expect((await local.tenant(tenant.id)).cluster).toBeNull();
    expect(local.platform.runtime.supervisorOf(tenant.id)).toBeUndefined();
  });

  it('leaves no process behind once stopped', async () => {
    // A second tenant still running at stop(): stop() must end it too.
    const other = await local.asAdmin<{ id: string }>('POST', '/admin/tenants', {
      slug: 'still-running',
      display_name: 'Still running',
      tier: 'hosted_seller',
      owner_email: 'seller@example.com',
    });
    expect(other.status, JSON.stringify(other.json)).toBe(201);
    await local.platform.runtime.settled();
    const running = local.platform.runtime.supervisorOf(other.json.id);
    await running?.ready(READY_WITHIN_MS);
    const otherPid = running?.status.pid as number;
    expect(isProcessAlive(otherPid)).toBe(true);

    const postmasterPid = Number(
      (await readFile(join(local.postgres.dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0],
    );
    await closeProvisioner();
    await local.stop();
    for (const pid of [...dataPlanePids, otherPid, postmasterPid]) {
      expect(isProcessAlive(pid), `pid ${pid}`).toBe(false);
    }
    // Nor any watchdog the runtime started next to a data plane.
    expect(processesOfTenants([tenant.id, other.json.id])).toEqual([]);
    // And the mailbox's port is free again.
    await expect(createTransport(local.platform.mail.smtpUrl).verify()).rejects.toThrow(/ECONNREFUSED/);
  });
});
