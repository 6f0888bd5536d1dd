/**
 * Node daemons and kube-proxy's rules healed as their owners do (issue 10), on one lab for every
 * fault: flushed iptables tables (kube-proxy's canary → full resync), a killed BIRD (restarted,
 * graceful restart keeps the routes), a killed userspace IPIP datapath and health-check server
 * (restarted), a killed supervisor (its watchdog brings it back), and daemons whose pids a killed
 * `up` never recorded (found by their marks, replaced). Each time until a curl loop through a Service
 * answers again is printed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { NOTHING_LEFT, exec, getJson as getLabJson, kemu, leftovers, markedProcesses, mustUp, until, writeTopology } from '../helpers/kemu.js';

const LAB = 'kt-hl-daemons';
const file = writeTopology(LAB, {
  apiVersion: 'kemu.dev/v1alpha1',
  kind: 'Topology',
  metadata: { name: LAB },
  spec: {
    network: { routing: 'ipip', underlay: { subnet: '192.168.94.0/24' }, loadBalancerPool: '172.31.94.0/28' },
    nodes: [{ name: 'n1' }, { name: 'n2' }],
    workloads: [
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'client' }, spec: { nodeName: 'n1', containers: [{ name: 'shell', image: 'busybox' }] } },
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', labels: { app: 'web' } }, spec: { nodeName: 'n2', containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 80 }] }] } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { type: 'LoadBalancer', externalTrafficPolicy: 'Local', selector: { app: 'web' }, ports: [{ port: 80 }] } },
    ],
  },
});
const getJson = (...args: string[]) => getLabJson(LAB, ...args);
const STATE = `/var/lib/kemu/${LAB}/state.json`;
const N1 = `kemu-${LAB}.node.n1`;
const state = async () => JSON.parse(await readFile(STATE, 'utf8'));
const alive = async (pid: number) => /^\d+ \(.*\) [^Z]/.test(await readFile(`/proc/${pid}/stat`, 'latin1').catch(() => ''));
const comm = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'latin1').trim();
  } catch {
    return '';
  }
};
let clusterIP = '';
let healthPort = 0;

const answers = async () => {
  const r = await kemu('exec', '--lab', LAB, 'client', '--', 'curl', '-sS', '-m', '0.3', `http://${clusterIP}/hostname`);
  return r.exitCode === 0 && r.stdout.trim() === 'web-1';
};

/** ms from `since` until one request through the Service answers (requests back to back, 300 ms timeout each). */
async function healthyAfter(since: number, limitMs: number): Promise<number> {
  await until('the Service to answer', limitMs, answers);
  return Date.now() - since;
}

/** ms from `since` until `check` holds, polled every 50 ms. */
async function heldAfter(since: number, what: string, limitMs: number, check: () => Promise<boolean>): Promise<number> {
  const deadline = since + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${limitMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - since;
}

const iptablesS = async (table: string, chain: string) => (await execa('ip', ['netns', 'exec', N1, 'iptables', '-t', table, '-S', chain], { reject: false })).stdout;

/** Processes of this lab carrying KEMU_POD=node/<node> and KEMU_CONTAINER=<container>. */
async function daemons(node: string, container: string): Promise<number[]> {
  const [lab, pod, c] = await Promise.all([markedProcesses(`KEMU_LAB=${LAB}`), markedProcesses(`KEMU_POD=node/${node}`), markedProcesses(`KEMU_CONTAINER=${container}`)]);
  return lab.filter((p) => pod.includes(p) && c.includes(p));
}

/** Write the record as a command would (atomically), with `edit` applied. */
async function editState(edit: (s: any) => void): Promise<void> {
  const s = await state();
  edit(s);
  await writeFile(`${STATE}.edit`, JSON.stringify(s));
  await rename(`${STATE}.edit`, STATE);
}

async function withSupervisorStopped<T>(fn: () => Promise<T>): Promise<T> {
  const sup = (await state()).supervisor.pid as number;
  process.kill(sup, 'SIGSTOP');
  try {
    return await fn();
  } finally {
    process.kill(sup, 'SIGCONT');
  }
}

beforeAll(async () => {
  await mustUp(file);
  const svc = await getJson('svc', 'web');
  clusterIP = svc.spec.clusterIP;
  healthPort = svc.spec.healthCheckNodePort;
  expect(healthPort).toBeGreaterThan(0);
  expect(await answers()).toBe(true);
});
afterAll(async () => {
  await kemu('down', '-q', LAB);
  expect(await leftovers(LAB)).toEqual(NOTHING_LEFT);
});

describe("kube-proxy's canary", () => {
  it('creates KUBE-PROXY-CANARY in mangle, nat and filter of every node', async () => {
    for (const table of ['mangle', 'nat', 'filter']) expect(await iptablesS(table, 'KUBE-PROXY-CANARY')).toBe('-N KUBE-PROXY-CANARY');
  });

  it('`iptables -t nat -F` in a node: the supervisor resyncs it fully within 2 s', async () => {
    const t0 = Date.now();
    // Read back in the same shell: the supervisor's next check (every second) may repair it before any probe could see it broken.
    const flushed = await execa('ip', ['netns', 'exec', N1, 'sh', '-c', 'iptables -t nat -F && iptables -t nat -S OUTPUT']);
    expect(flushed.stdout).not.toContain('-j KUBE-SERVICES');
    const ms = await healthyAfter(t0, 5000);
    console.log(`iptables -t nat -F → Service healthy again after ${ms} ms (full resync by the supervisor)`);
    expect(ms).toBeLessThanOrEqual(2500);
    expect(await iptablesS('nat', 'OUTPUT')).toContain('-j KUBE-SERVICES');
    expect(await iptablesS('nat', 'POSTROUTING')).toContain('-j cali-POSTROUTING');
  });

  it('`iptables -t filter -F` and `-t mangle -F; -X`: the rules are back within 2 s', async () => {
    let t0 = Date.now();
    await execa('ip', ['netns', 'exec', N1, 'iptables', '-t', 'filter', '-F']);
    const filterMs = await heldAfter(t0, 'the filter hooks', 5000, async () => (await iptablesS('filter', 'OUTPUT')).includes('-j KUBE-FIREWALL'));
    t0 = Date.now();
    await execa('ip', ['netns', 'exec', N1, 'sh', '-c', 'iptables -t mangle -F && iptables -t mangle -X']);
    const mangleMs = await heldAfter(t0, 'the mangle canary', 5000, async () => (await iptablesS('mangle', 'KUBE-PROXY-CANARY')) === '-N KUBE-PROXY-CANARY');
    console.log(`iptables -t filter -F → rules back after ${filterMs} ms; mangle flushed and deleted → canary back after ${mangleMs} ms`);
    expect(filterMs).toBeLessThanOrEqual(2500);
    expect(mangleMs).toBeLessThanOrEqual(2500);
    expect(await answers()).toBe(true);
  });

  it('`up` (supervisor stopped) verifies the chains it owns: a flushed nat table is repaired and reported', async () => {
    await withSupervisorStopped(async () => {
      await execa('ip', ['netns', 'exec', N1, 'iptables', '-t', 'nat', '-F']);
      const r = await kemu('up', file);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toContain('repaired: kube-proxy rules of node n1 (nat flushed)');
      expect(r.stdout).not.toContain('nothing changed');
      expect(await answers()).toBe(true);
    });
    // And one service chain flushed by hand (the canary cannot see that) is found by its rule count.
    await withSupervisorStopped(async () => {
      const svcChain = /-j (KUBE-SVC-\w+)/.exec(await iptablesS('nat', 'KUBE-SERVICES'))![1]!;
      await execa('ip', ['netns', 'exec', N1, 'iptables', '-t', 'nat', '-F', svcChain]);
      expect(await answers()).toBe(false);
      const r = await kemu('up', file);
      expect(r.stdout).toContain(`repaired: kube-proxy rules of node n1 (1 chain not as written: nat/${svcChain})`);
      expect(await answers()).toBe(true);
    });
    expect((await kemu('up', file)).stdout).toContain('nothing changed');
  });
});

describe('node daemons', () => {
  it('a killed BIRD is restarted within 2 s; graceful restart keeps the routes meanwhile', async () => {
    const s = await state();
    const old = s.bird.n2.pid as number;
    const block = s.cluster.nodes.find((n: any) => n.name === 'n2').blocks[0] as string;
    const routeOnN1 = async () => (await execa('ip', ['-n', N1, 'route', 'show', block])).stdout.includes('proto bird');
    let routeLost = false;
    const t0 = Date.now();
    process.kill(old, 'SIGKILL');
    const ms = await heldAfter(t0, 'a new BIRD on n2', 5000, async () => {
      if (!(await routeOnN1())) routeLost = true;
      const pids = await daemons('n2', 'bird');
      return pids.length === 1 && pids[0] !== old;
    });
    const healthy = await healthyAfter(t0, 5000);
    console.log(`BIRD killed → restarted after ${ms} ms; Service healthy after ${healthy} ms; route kept throughout: ${!routeLost}`);
    expect(ms).toBeLessThanOrEqual(2000);
    expect(routeLost).toBe(false);
    await until('BGP Established again', 10_000, async () => /Established/.test((await execa('birdc', ['-s', `/run/kemu/${LAB}/bird/n2.ctl`, 'show', 'protocols'], { reject: false })).stdout));
  });

  it('a killed userspace IPIP datapath is restarted within 2 s', async () => {
    const old = (await state()).tunnels.n1.pid as number;
    expect(old).toBeGreaterThan(0);
    const t0 = Date.now();
    process.kill(old, 'SIGKILL');
    const ms = await heldAfter(t0, 'a new kemu-ipip on n1', 5000, async () => {
      const pids = await daemons('n1', 'ipip');
      return pids.length === 1 && pids[0] !== old;
    });
    const healthy = await healthyAfter(t0, 5000);
    console.log(`kemu-ipip killed → restarted after ${ms} ms; Service (across the tunnel) healthy after ${healthy} ms`);
    expect(ms).toBeLessThanOrEqual(2000);
    expect(healthy).toBeLessThanOrEqual(3000);
  });

  it('a killed health-check server is restarted within 2 s', async () => {
    const old = (await state()).proxy.n1.health.pid as number;
    const hc = async () => (await kemu('exec', '--lab', LAB, 'node/n1', '--', 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '-m', '0.3', `http://127.0.0.1:${healthPort}/`)).stdout === '503';
    expect(await hc()).toBe(true); // n1 has no local endpoint
    const t0 = Date.now();
    process.kill(old, 'SIGKILL');
    const ms = await heldAfter(t0, 'the health-check node port to answer', 5000, hc);
    console.log(`health-check server killed → its node port answers again after ${ms} ms`);
    expect(ms).toBeLessThanOrEqual(2500);
    expect(await daemons('n1', 'kube-proxy-health')).toHaveLength(1);
  });

  it('`up` (supervisor stopped) restarts dead daemons and says so', async () => {
    await withSupervisorStopped(async () => {
      const s = await state();
      process.kill(s.proxy.n1.health.pid, 'SIGKILL');
      process.kill(s.bird.n1.pid, 'SIGKILL');
      const r = await kemu('up', file);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toContain(`repaired: kube-proxy's health-check server on node n1 restarted (pid ${s.proxy.n1.health.pid} had died)`);
      expect(r.stdout).toContain(`repaired: BIRD on node n1 restarted (pid ${s.bird.n1.pid} had died)`);
      expect(r.stdout).not.toContain('nothing changed');
    });
    expect(await answers()).toBe(true);
  });

  it('daemons whose pids a killed `up` never recorded are found by their marks and replaced: one of each', async () => {
    await withSupervisorStopped(async () => {
      await editState((s) => {
        delete s.proxy.n1.health;
        delete s.bird.n1;
        delete s.tunnels.n2.pid;
      });
      const r = await kemu('up', file);
      expect(r.exitCode, r.stderr).toBe(0);
    });
    for (const node of ['n1', 'n2']) for (const c of ['kube-proxy-health', 'bird', 'ipip']) expect(await daemons(node, c), `${node} ${c}`).toHaveLength(1);
    const s = await state();
    expect(await daemons('n1', 'kube-proxy-health')).toEqual([s.proxy.n1.health.pid]);
    expect(await daemons('n1', 'bird')).toEqual([s.bird.n1.pid]);
    expect(await daemons('n2', 'ipip')).toEqual([s.tunnels.n2.pid]);
    expect((await kemu('up', file)).exitCode).toBe(0);
    expect(await answers()).toBe(true);
  });
});

describe('the supervisor', () => {
  it('killed: its watchdog brings it back within 5 s, and it restarts a container that died meanwhile', async () => {
    const old = (await state()).supervisor.pid as number;
    const t0 = Date.now();
    process.kill(old, 'SIGKILL');
    const web = (await state()).pods['default/web-1'].containers.web.pid as number;
    process.kill(web, 'SIGKILL');
    const back = await heldAfter(t0, 'a new supervisor', 10_000, async () => {
      const pid = (await state()).supervisor.pid as number;
      return pid !== old && (await alive(pid));
    });
    const healthy = await healthyAfter(t0, 10_000);
    console.log(`supervisor killed → a new one supervises after ${back} ms; a container killed with it: Service healthy after ${healthy} ms`);
    expect(back).toBeLessThanOrEqual(5000);
    expect((await getJson('pods', 'web-1')).status.containerStatuses[0].restartCount).toBe(1);
    expect((await kemu('get', 'pods', '--lab', LAB)).stderr).not.toContain('no running supervisor');
  });

  it('a killed watchdog is started again; both killed at once: get and ls warn until `up`', async () => {
    const sup = (await state()).supervisor.pid as number;
    const watchdogs = async () => (await markedProcesses(`KEMU_LAB=${LAB}`)).filter((p) => p !== sup).filter((p) => comm(p) === 'kemu-watchdog');
    const [dog] = await watchdogs();
    expect(dog).toBeGreaterThan(0);
    process.kill(dog!, 'SIGKILL');
    await until('another watchdog', 5000, async () => (await watchdogs()).some((p) => p !== dog));
    const [dog2] = await watchdogs();
    process.kill(dog2!, 'SIGKILL');
    process.kill(sup, 'SIGKILL');
    await until('the supervisor to be gone', 5000, async () => !(await alive(sup)));
    await new Promise((r) => setTimeout(r, 1000));
    expect((await state()).supervisor.pid).toBe(sup);
    const get = await kemu('get', 'pods', '--lab', LAB);
    expect(get.exitCode).toBe(0);
    expect(get.stderr).toContain(`warning: lab ${LAB} has no running supervisor (pid ${sup} is gone)`);
    const ls = await kemu('ls');
    expect(ls.stderr).toContain(`warning: lab ${LAB} has no running supervisor`);
    expect((await kemu('up', file)).exitCode).toBe(0);
    expect((await kemu('get', 'pods', '--lab', LAB)).stderr).not.toContain('no running supervisor');
  });
});
