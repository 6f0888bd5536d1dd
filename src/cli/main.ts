/** kemu's entry point: the only module that prints and exits. */
import { Command, Option } from 'commander';
import { KEMU_VERSION } from './version.js';
import { InputError } from '../topology/errors.js';
import type { Reporter } from '../lab/progress.js';
import { bgpCommand, changeText, curlCommand, downCommand, routesCommand, execCommand, lsCommand, upCommand } from './commands.js';
import { GET_KINDS, getText } from './get.js';
import { describeText } from './describe.js';
import { applyFiles, deleteFiles, deleteNamed, readManifests, scale } from '../lab/apply.js';
import { selectLab } from '../lab/labs.js';
import { supervise } from '../lab/supervisor.js';
import { runDnsServer } from '../lab/dns/main.js';
import type { InputProblem } from '../topology/errors.js';
import { printable } from '../util/printable.js';

function stderrReporter(quiet: boolean): Reporter {
  let since = performance.now();
  const elapsed = () => {
    const ms = Math.round(performance.now() - since);
    since = performance.now();
    return ms;
  };
  return {
    phase: (name) => quiet || (elapsed(), process.stderr.write(`• ${name}\n`)),
    detail: (text) => quiet || process.stderr.write(`  ${text} (${elapsed()} ms)\n`),
  };
}

const program = new Command('kemu')
  .description('Emulate the Kubernetes network data plane on this machine: real namespaces, veths, routes, iptables, BIRD and processes.')
  .showHelpAfterError('(run with --help for usage)')
  .version(KEMU_VERSION, '-V, --version', 'print the version (as package.json has it)')
  .enablePositionalOptions()
  .configureHelp({ sortSubcommands: false });

const labOption = () => new Option('--lab <name>', 'the lab to use (needed only when several labs run)');
const outputOption = (formats: string) => new Option('-o, --output <format>', `output format: ${formats}`);

program
  .command('up')
  .description('create or update a lab from a topology file (idempotent; completes an interrupted run)')
  .argument('<file>', 'topology file (YAML, kind Topology)')
  .option('--dry-run', 'show what would change and change nothing')
  .option('--no-wait', 'return after the first pass instead of waiting for Deployment rollouts to finish')
  .option('-q, --quiet', 'no progress output')
  .addOption(outputOption('json'))
  .action(async (file: string, opts: { dryRun?: boolean; quiet?: boolean; output?: string; wait?: boolean }) => {
    process.stdout.write(await upCommand(file, opts, stderrReporter(!!opts.quiet || opts.output === 'json')));
  });

program
  .command('down')
  .description('remove a lab: every namespace, veth, mount, process and state file')
  .argument('<lab|file>', 'lab name, or the topology file that names it')
  .option('-q, --quiet', 'no progress output')
  .action(async (target: string, opts: { quiet?: boolean }) => {
    process.stdout.write(await downCommand(target, stderrReporter(!!opts.quiet)));
  });

program
  .command('ls')
  .description('list labs on this machine')
  .addOption(outputOption('json'))
  .action(async (opts: { output?: string }) => {
    const r = await lsCommand(opts);
    process.stdout.write(r.text);
    for (const w of r.warnings) process.stderr.write(`kemu: ${printable(w, 1000)}\n`);
    if (r.warnings.length) process.exitCode = 1;
  });

program
  .command('get')
  .description(`show objects of a lab, like kubectl get: ${GET_KINDS}`)
  .argument('<kind>', GET_KINDS.replaceAll(', ', ' | '))
  .argument('[name]', 'only this object')
  .addOption(outputOption('wide | json | yaml'))
  .option('-n, --namespace <namespace>', 'only objects in this namespace')
  .addOption(labOption())
  .action(async (kind: string, name: string | undefined, opts: { output?: string; lab?: string; namespace?: string }) => {
    process.stdout.write(await getText(await selectLab(opts.lab), kind, name, opts));
  });

program
  .command('describe')
  .description('show one object in detail, like kubectl describe (status, conditions, containers, where it runs)')
  .argument('<kind>', 'node | pod | deployment | replicaset | statefulset | daemonset | job | replicationcontroller | controllerrevision | service | endpoints | endpointslice | namespace | ingress | ingressclass | secret')
  .argument('<name>', 'object name')
  .option('-n, --namespace <namespace>', 'namespace of the object', 'default')
  .addOption(labOption())
  .action(async (kind: string, name: string, opts: { lab?: string; namespace: string }) => {
    process.stdout.write(await describeText(await selectLab(opts.lab), kind, name, opts.namespace));
  });

/** Manifests from -f sources (files, folders, -), every problem at once. */
async function manifestsFrom(files: string[], skipUnsupported: boolean) {
  const problems: InputProblem[] = [];
  const skipped: string[] = [];
  const manifests = await readManifests(files, problems, skipped, skipUnsupported);
  if (problems.length) throw new InputError('the manifests', problems);
  if (manifests.length === 0 && skipped.length === 0) throw new Error(`no objects in ${files.join(', ')}`);
  return { manifests, skipped };
}

const collect = (v: string, all: string[]) => [...all, v];
const changeOptions = (c: Command) =>
  c
    .option('--dry-run', 'show what would change and change nothing')
    .option('--no-wait', 'return after the first pass; the supervisor finishes rollouts')
    .option('-q, --quiet', 'no progress output')
    .addOption(outputOption('json'))
    .addOption(labOption());
type ChangeFlags = { dryRun?: boolean; wait?: boolean; quiet?: boolean; output?: string; lab?: string };
const labName = async (lab: string | undefined) => (await selectLab(lab)).lab;

changeOptions(
  program
    .command('apply')
    .description('create or update objects in a running lab from Kubernetes YAML, like kubectl apply (Namespace, Pod, Deployment, StatefulSet, DaemonSet, Job, ReplicaSet, ReplicationController, Service, Endpoints, EndpointSlice, Ingress, IngressClass, TLS Secret); waits for the rollouts of what it changed')
    .requiredOption('-f, --filename <file>', 'a YAML file (several documents allowed), a folder of them, or - for standard input; repeatable', collect, [])
    .option('--skip-unsupported', 'skip objects of kinds kemu does not emulate instead of refusing the whole input'),
).action(async (opts: ChangeFlags & { filename: string[]; skipUnsupported?: boolean }) => {
  const { manifests, skipped } = await manifestsFrom(opts.filename, !!opts.skipUnsupported);
  const r = await applyFiles(await labName(opts.lab), manifests, stderrReporter(!!opts.quiet || opts.output === 'json'), opts);
  process.stdout.write(changeText({ ...r, skipped }, opts));
});

changeOptions(
  program
    .command('delete')
    .description('delete objects from a running lab, like kubectl delete: by -f FILE, or KIND NAME…; pods leave the endpoints before their sandbox goes')
    .argument('[kind]', 'pod | deployment | replicaset | statefulset | daemonset | job | replicationcontroller | service | endpoints | endpointslice | namespace | ingress | ingressclass | secret (with names)')
    .argument('[names...]', 'object names')
    .option('-f, --filename <file>', 'delete what these files describe; repeatable', collect, [])
    .option('-n, --namespace <namespace>', 'namespace of the named objects', 'default')
    .option('--ignore-not-found', 'a missing object is not an error'),
).action(async (kind: string | undefined, names: string[], opts: ChangeFlags & { filename: string[]; namespace: string; ignoreNotFound?: boolean }) => {
  const lab = await labName(opts.lab);
  const reporter = stderrReporter(!!opts.quiet || opts.output === 'json');
  if (opts.filename.length) {
    if (kind) throw new Error('give either -f FILE or KIND NAME, not both');
    const { manifests } = await manifestsFrom(opts.filename, true);
    process.stdout.write(changeText(await deleteFiles(lab, manifests, reporter, opts), opts));
    return;
  }
  if (!kind || names.length === 0) throw new Error('nothing to delete: kemu delete KIND NAME… or kemu delete -f FILE');
  process.stdout.write(changeText(await deleteNamed(lab, kind, names, opts.namespace, reporter, opts), opts));
});

changeOptions(
  program
    .command('scale')
    .description('set the replica count of a Deployment, StatefulSet, ReplicaSet or ReplicationController, like kubectl scale')
    .argument('<kind>', 'deployment | statefulset | replicaset | replicationcontroller')
    .argument('<name>', 'its name')
    .requiredOption('--replicas <n>', 'the new replica count', (v) => Number(v))
    .option('-n, --namespace <namespace>', 'its namespace', 'default'),
).action(async (kind: string, name: string, opts: ChangeFlags & { replicas: number; namespace: string }) => {
  const r = await scale(await labName(opts.lab), kind, name, opts.namespace, opts.replicas, stderrReporter(!!opts.quiet || opts.output === 'json'), opts);
  process.stdout.write(changeText(r, opts));
});

program
  .command('supervise', { hidden: true })
  .description("the lab's supervisor (started by up; restarts containers, runs probes, finishes rollouts and jobs)")
  .argument('<lab>', 'lab name')
  .action(async (lab: string) => {
    await supervise(lab);
  });

program
  .command('dns-server', { hidden: true })
  .description("the cluster DNS pods' process: answers the cluster domain from a records file, forwards the rest")
  .requiredOption('--records <file>', 'records JSON the lab rewrites on each reconcile')
  .option('--listen <address>', 'address to bind', '0.0.0.0')
  .option('--port <port>', 'UDP and TCP port', '53')
  .option('--upstream <address...>', 'resolvers for names outside the cluster domain (host or host:port)', [])
  .option('--ready <file>', 'written once the sockets are bound')
  .action(runDnsServer);

program
  .command('exec')
  .description('run a command inside a pod ([namespace/]name), node (node/NAME) or external host (host/NAME)')
  .argument('<target>', 'pod, node/NAME or host/NAME')
  .argument('<command...>', 'command and arguments, after --')
  .addOption(labOption())
  .passThroughOptions()
  .action(async (target: string, argv: string[], opts: { lab?: string }) => {
    process.exitCode = await execCommand(target, argv, opts);
  });

program
  .command('bgp')
  .description("show every node's BGP sessions (peer, state, since, routes imported/exported), from BIRD")
  .argument('[node]', 'only this node')
  .addOption(outputOption('json'))
  .addOption(labOption())
  .action(async (node: string | undefined, opts: { output?: string; lab?: string }) => {
    process.stdout.write(await bgpCommand(node, opts));
  });

program
  .command('routes')
  .description("show a node's kernel routes, each with what it is for (local pod, own block, learned via BGP, tunnel)")
  .argument('<node>', 'node name')
  .addOption(outputOption('json'))
  .addOption(labOption())
  .action(async (node: string, opts: { output?: string; lab?: string }) => {
    process.stdout.write(await routesCommand(node, opts));
  });

program
  .command('curl')
  .description('curl URL from inside a pod ([namespace/]name), node (node/NAME) or external host (host/NAME)')
  .argument('<target>', 'pod, node/NAME or host/NAME')
  .argument('<url>', 'the URL, e.g. http://10.96.0.1/hostname')
  .argument('[curl-options...]', 'more curl options, after --')
  .addOption(labOption())
  .passThroughOptions()
  .action(async (target: string, url: string, extra: string[], opts: { lab?: string }) => {
    process.exitCode = await curlCommand(target, url, extra[0] === '--' ? extra.slice(1) : extra, opts);
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Messages may carry text from files or the kernel: every line is printed with control characters escaped.
  const safe = (text: string) => text.split('\n').map((l) => printable(l, 2000)).join('\n');
  if (err instanceof InputError) process.stderr.write(`kemu: invalid input in ${safe(err.message)}\n`);
  else process.stderr.write(`kemu: ${safe((err as Error).message ?? String(err))}\n`);
  process.exitCode = err instanceof InputError ? 2 : 1;
}
