/**
 * The commands: thin wrappers over lab/, returning text; only main.ts prints and exits. Each imports
 * the heavy parts it alone needs when it runs, so a light command does not load `up`'s machinery.
 */
import { spawn } from 'node:child_process';
import { knownLabs, labFromArg, selectLab } from '../lab/labs.js';
import type { Reporter } from '../lab/progress.js';
import { readRecord } from '../lab/state.js';
import type { ChangeResult } from '../lab/apply.js';
import type { ReconcileResult } from '../lab/reconcile.js';
import { pendingSummary } from '../lab/pending.js';
import { supervisorWarning } from '../lab/supervisor-process.js';
import { formatMs, json, outputFormat, table } from './output.js';

export async function upCommand(file: string, opts: { dryRun?: boolean; output?: string; wait?: boolean; skipUnsupported?: boolean }, reporter: Reporter): Promise<string> {
  const { up } = await import('../lab/up.js');
  const r = await up(file, reporter, { dryRun: opts.dryRun, wait: opts.wait, skipUnsupported: opts.skipUnsupported });
  if (opts.output === 'json') return json(r);
  const lines: string[] = r.skipped.map((s) => `skipped ${s}`);
  if (r.diff.reasons.length === 0 && r.routes.added + r.routes.removed === 0 && r.proxySyncs.length === 0 && r.repaired.length === 0) lines.push(`lab ${r.lab} is up to date; nothing changed`);
  else {
    lines.push(`${opts.dryRun ? 'would change' : 'changed'}: ${r.diff.reasons.length} object${r.diff.reasons.length === 1 ? '' : 's'}`);
    const shown = r.diff.reasons.slice(0, 20);
    lines.push(...shown.map((s) => `  ${s}`));
    if (r.diff.reasons.length > shown.length) lines.push(`  … and ${r.diff.reasons.length - shown.length} more`);
    lines.push(...r.repaired.map((x) => `  repaired: ${x}`));
    if (r.routes.added + r.routes.removed) lines.push(`  routes: ${r.routes.added} added, ${r.routes.removed} removed`);
    for (const s of r.proxySyncs.filter((p) => p.services > 0 || p.mode === 'partial')) lines.push(`  kube-proxy on ${s.node}: ${s.mode} sync, chains of ${s.services} service ports written`);
  }
  lines.push(...outcomeLines(r));
  if (!opts.dryRun) {
    const total = r.timings.reduce((a, t) => a + t.ms, 0);
    lines.push(`phases: ${r.timings.map((t) => `${t.phase} ${formatMs(t.ms)}`).join(', ')}; total ${formatMs(total)}; ${r.processesSpawned} processes spawned`);
    lines.push(`look around: kemu get pods -o wide --lab ${r.lab}   |   tear down: kemu down ${r.lab}`);
  }
  return lines.join('\n') + '\n';
}

/** What is still pending after a change: unschedulable pods, unfinished rollouts, restarts. */
function outcomeLines(r: ReconcileResult): string[] {
  return [
    ...r.restarted.map((c) => `  restarted container ${c}`),
    ...pendingSummary(r.unschedulable, 'is').map((l) => `  ${l}`),
    ...r.rollouts.map((d) => `  rollout not finished: ${d} (the supervisor carries it on)`),
  ];
}

/** `kemu apply|delete|scale`: what happened to each object, as kubectl prints it. */
export function changeText(r: ChangeResult, opts: { output?: string; dryRun?: boolean }): string {
  if (opts.output === 'json') return json(r);
  const verb = (a: string) => (opts.dryRun ? `${a} (dry run)` : a);
  const lines = [
    ...r.skipped.map((s) => `skipped ${s}`),
    ...r.objects.map((o) => `${o.kind.toLowerCase()}/${o.kind === 'Namespace' ? o.key : o.key.split('/')[1]}${o.kind !== 'Namespace' && !o.key.startsWith('default/') ? ` (namespace ${o.key.split('/')[0]})` : ''} ${verb(o.action)}`),
    ...outcomeLines(r),
  ];
  if (!opts.dryRun) {
    const total = r.timings.reduce((a, t) => a + t.ms, 0);
    lines.push(`phases: ${r.timings.map((t) => `${t.phase} ${formatMs(t.ms)}`).join(', ')}; total ${formatMs(total)}`);
  }
  return lines.join('\n') + '\n';
}

export async function downCommand(target: string, reporter: Reporter): Promise<string> {
  const lab = await labFromArg(target);
  const { down } = await import('../lab/down.js');
  const r = await down(lab, reporter);
  if (r.namespaces === 0 && r.processes === 0) return `lab ${lab}: nothing to remove\n`;
  return `lab ${lab} removed: ${r.namespaces} namespaces, ${r.processes} processes (${formatMs(r.timings.reduce((a, t) => a + t.ms, 0))})\n`;
}

/** Labs on this machine; a lab whose folders kemu refuses to use is listed with the reason, and warned about. */
export async function lsCommand(opts: { output?: string }): Promise<{ text: string; warnings: string[]; notices: string[] }> {
  const warnings: string[] = [];
  const notices: string[] = [];
  const refused = new Set<string>();
  const { observeLab } = await import('../lab/observe.js');
  const labs = await Promise.all(
    (await knownLabs()).map(async (lab) => {
      const [record, observed] = await Promise.all([
        readRecord(lab).catch((err: Error) => {
          warnings.push(`lab ${lab}: ${err.message}`);
          refused.add(lab);
          return undefined;
        }),
        observeLab(lab),
      ]);
      const unsupervised = record && (await supervisorWarning(record));
      if (unsupervised) notices.push(unsupervised);
      return {
        lab,
        topology: record?.topologyFile,
        nodes: record?.cluster.nodes.length ?? 0,
        pods: record ? Object.keys(record.store.objects.Pod).length : 0,
        namespaces: observed.netns.size,
        processes: observed.processes.length,
        updated: record?.updatedAt,
      };
    }),
  );
  if (outputFormat(opts.output) === 'json') return { text: json(labs), warnings, notices };
  if (labs.length === 0) return { text: 'no labs\n', warnings, notices };
  const text = table(['LAB', 'NODES', 'PODS', 'NAMESPACES', 'PROCESSES', 'TOPOLOGY'], labs.map((l) => [l.lab, l.nodes, l.pods, l.namespaces, l.processes, l.topology ?? (refused.has(l.lab) ? '(refused: see the warning below)' : '(no record: partial lab, remove with kemu down)')]));
  return { text, warnings, notices };
}

export async function bgpCommand(node: string | undefined, opts: { output?: string; lab?: string }): Promise<string> {
  const { bgpView } = await import('../lab/bird/views.js');
  const view = await bgpView(await selectLab(opts.lab), node);
  if (outputFormat(opts.output) === 'json') return json(view);
  return table(
    ['NODE', 'PEER', 'PEER-NODE', 'AS', 'STATE', 'SINCE', 'IMPORTED', 'EXPORTED'],
    view.flatMap((n) => n.sessions.map((s) => [n.node, s.peer, s.peerNode, s.peerAs, s.state, s.since, s.imported, s.exported])),
  );
}

export async function routesCommand(node: string, opts: { output?: string; lab?: string }): Promise<string> {
  const { routesView } = await import('../lab/bird/views.js');
  const routes = await routesView(await selectLab(opts.lab), node);
  if (outputFormat(opts.output) === 'json') return json(routes);
  return table(['DESTINATION', 'VIA', 'DEV', 'PROTO', 'MEANING'], routes.map((r) => [r.dst, r.via, r.dev, r.proto, r.meaning]));
}

/** `kemu node stop|start NAME` */
export async function nodeCommand(action: string, node: string, opts: { output?: string; lab?: string }): Promise<string> {
  if (action !== 'stop' && action !== 'start') throw new Error(`unknown action '${action}'; use kemu node stop NAME or kemu node start NAME`);
  const { setNodePower } = await import('../lab/node-power.js');
  const r = await setNodePower((await selectLab(opts.lab)).lab, node, action === 'start');
  if (opts.output === 'json') return json(r);
  const moved = Object.entries(r.moved).map(([ip, n]) => `  ${ip} now announced by ${n}`);
  return [`node/${node} ${r.action}${r.action === 'unchanged' ? ` (already ${action === 'start' ? 'running' : 'stopped'})` : ` in ${formatMs(r.ms)}`}`, ...moved].join('\n') + '\n';
}

/** `kemu curl TARGET URL [curl options]`: curl from inside a pod, node or external host. */
export function curlCommand(target: string, url: string, extra: string[], opts: { lab?: string }): Promise<number> {
  return execCommand(target, ['curl', '-sS', '--max-time', '10', ...extra, url], opts);
}

/** Runs CMD inside the target with the terminal attached; resolves with its exit code. */
export async function execCommand(target: string, command: string[], opts: { lab?: string }): Promise<number> {
  const argv = command[0] === '--' ? command.slice(1) : command;
  if (argv.length === 0) throw new Error('nothing to run: kemu exec TARGET -- CMD [ARGS…]');
  const { resolveTarget } = await import('../lab/views.js');
  const t = resolveTarget(await selectLab(opts.lab), target);
  const [file, args] =
    // The pod's mount namespace too: its resolv.conf and hosts (the host's own when the lab runs no cluster DNS).
    t.kind === 'pod' ? ['nsenter', ['--target', String(t.holderPid), '--net', '--uts', '--ipc', '--mount', `--wd=${process.cwd()}`, '--', ...argv]] : ['ip', ['netns', 'exec', t.netns, ...argv]];
  return new Promise((resolve, reject) => {
    const child = spawn(file, args as string[], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + 9 : 1)));
  });
}
