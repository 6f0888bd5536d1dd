/** kemu's entry point: the only module that prints and exits. */
import { Command, Option } from 'commander';
import { KEMU_VERSION } from './version.js';
import { GET_KINDS } from './kinds.js';
import { InputError } from '../topology/errors.js';
import type { Reporter } from '../lab/progress.js';
import type { InputProblem } from '../topology/errors.js';
import { printable } from '../util/printable.js';

// Each command loads only its own modules (the build splits them into chunks): `kemu --version` or
// `--help` never parses the manifest, YAML and kernel layers.
const commands = () => import('./commands.js');
const labs = () => import('../lab/labs.js');
const changes = () => import('../lab/apply.js');

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
  .option('--skip-unsupported', 'drop workload kinds and fields kemu does not emulate, each with a warning, instead of refusing the topology')
  .addOption(outputOption('json'))
  .action(async (file: string, opts: { dryRun?: boolean; quiet?: boolean; output?: string; wait?: boolean; skipUnsupported?: boolean }) => {
    process.stdout.write(await (await commands()).upCommand(file, opts, stderrReporter(!!opts.quiet || opts.output === 'json')));
  });

program
  .command('down')
  .description('remove a lab: every namespace, veth, mount, process and state file')
  .argument('<lab|file>', 'lab name, or the topology file that names it')
  .option('-q, --quiet', 'no progress output')
  .action(async (target: string, opts: { quiet?: boolean }) => {
    process.stdout.write(await (await commands()).downCommand(target, stderrReporter(!!opts.quiet)));
  });

program
  .command('ls')
  .description('list labs on this machine')
  .addOption(outputOption('json'))
  .action(async (opts: { output?: string }) => {
    const r = await (await commands()).lsCommand(opts);
    process.stdout.write(r.text);
    for (const w of r.warnings) process.stderr.write(`kemu: ${printable(w, 1000)}\n`);
    if (r.warnings.length) process.exitCode = 1;
    for (const n of r.notices) process.stderr.write(`kemu: ${printable(n, 1000)}\n`);
  });

program
  .command('get')
  .description(`show objects of a lab, like kubectl get: ${GET_KINDS}`)
  .argument('<kind>', GET_KINDS.replaceAll(', ', ' | '))
  .argument('[name]', 'only this object')
  .addOption(outputOption('wide | json | yaml'))
  .option('-n, --namespace <namespace>', 'only objects in this namespace')
  .option('-A, --all-namespaces', 'objects of every namespace (what get shows without -n)')
  .addOption(labOption())
  .action(async (kind: string, name: string | undefined, opts: { output?: string; lab?: string; namespace?: string; allNamespaces?: boolean }) => {
    if (opts.allNamespaces && opts.namespace) throw new Error('give either -n NAMESPACE or -A, not both');
    const { getText } = await import('./get.js');
    const record = await (await labs()).selectLab(opts.lab);
    process.stdout.write(await getText(record, kind, name, opts));
    const warning = await (await import('../lab/supervisor-process.js')).supervisorWarning(record);
    if (warning) process.stderr.write(`kemu: ${printable(warning, 1000)}\n`);
  });

program
  .command('describe')
  .description('show one object in detail, like kubectl describe (status, conditions, containers, where it runs)')
  .argument('<kind>', 'node | pod | deployment | replicaset | statefulset | daemonset | job | replicationcontroller | controllerrevision | service | endpoints | endpointslice | namespace | ingress | ingressclass | secret | networkpolicy')
  .argument('<name>', 'object name')
  .option('-n, --namespace <namespace>', 'namespace of the object', 'default')
  .addOption(labOption())
  .action(async (kind: string, name: string, opts: { lab?: string; namespace: string }) => {
    const { describeText } = await import('./describe.js');
    process.stdout.write(await describeText(await (await labs()).selectLab(opts.lab), kind, name, opts.namespace));
  });

/** Manifests from -f sources (files, folders, -), every problem at once. */
async function manifestsFrom(files: string[], skipUnsupported: boolean) {
  const problems: InputProblem[] = [];
  const skipped: string[] = [];
  const manifests = await (await changes()).readManifests(files, problems, skipped, skipUnsupported);
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
const labName = async (lab: string | undefined) => (await (await labs()).selectLab(lab)).lab;

changeOptions(
  program
    .command('apply')
    .description('create or update objects in a running lab from Kubernetes YAML, like kubectl apply (Namespace, Pod, Deployment, StatefulSet, DaemonSet, Job, ReplicaSet, ReplicationController, Service, Endpoints, EndpointSlice, Ingress, IngressClass, TLS Secret, NetworkPolicy); waits for the rollouts of what it changed')
    .requiredOption('-f, --filename <file>', 'a YAML file (several documents allowed), a folder of them, or - for standard input; repeatable', collect, [])
    .option('--skip-unsupported', 'skip objects of kinds, and drop fields, kemu does not emulate (each with a warning) instead of refusing the whole input'),
).action(async (opts: ChangeFlags & { filename: string[]; skipUnsupported?: boolean }) => {
  const { manifests, skipped } = await manifestsFrom(opts.filename, !!opts.skipUnsupported);
  const r = await (await changes()).applyFiles(await labName(opts.lab), manifests, stderrReporter(!!opts.quiet || opts.output === 'json'), opts);
  process.stdout.write((await commands()).changeText({ ...r, skipped }, opts));
});

changeOptions(
  program
    .command('delete')
    .description('delete objects from a running lab, like kubectl delete: by -f FILE, or KIND NAME…; pods leave the endpoints before their sandbox goes')
    .argument('[kind]', 'pod | deployment | replicaset | statefulset | daemonset | job | replicationcontroller | service | endpoints | endpointslice | namespace | ingress | ingressclass | secret | networkpolicy (with names)')
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
    const { changeText } = await commands();
    process.stdout.write(changeText(await (await changes()).deleteFiles(lab, manifests, reporter, opts), opts));
    return;
  }
  if (!kind || names.length === 0) throw new Error('nothing to delete: kemu delete KIND NAME… or kemu delete -f FILE');
  const { changeText } = await commands();
  process.stdout.write(changeText(await (await changes()).deleteNamed(lab, kind, names, opts.namespace, reporter, opts), opts));
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
  const r = await (await changes()).scale(await labName(opts.lab), kind, name, opts.namespace, opts.replicas, stderrReporter(!!opts.quiet || opts.output === 'json'), opts);
  process.stdout.write((await commands()).changeText(r, opts));
});

program
  .command('supervise', { hidden: true })
  .description("the lab's supervisor (started by up, brought back by its watchdog; restarts containers and node daemons, runs probes, resyncs flushed rules, finishes rollouts and jobs)")
  .argument('<lab>', 'lab name')
  .action(async (lab: string) => {
    const { supervise } = await import('../lab/supervisor.js');
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
  .option('--metrics <port>', 'serve Prometheus text (coredns_dns_requests_total …) over HTTP on this TCP port')
  .action(async (opts: { records: string; listen: string; port: string; upstream: string[]; ready?: string; metrics?: string }) => (await import('../lab/dns/main.js')).runDnsServer(opts));

program
  .command('exec')
  .description('run a command inside a pod ([namespace/]name), node (node/NAME) or external host (host/NAME)')
  .argument('<target>', 'pod, node/NAME or host/NAME')
  .argument('<command...>', 'command and arguments, after --')
  .addOption(labOption())
  .passThroughOptions()
  .action(async (target: string, argv: string[], opts: { lab?: string }) => {
    process.exitCode = await (await commands()).execCommand(target, argv, opts);
  });

program
  .command('bgp')
  .description("show every node's BGP sessions (peer, state, since, routes imported/exported), from BIRD; with MetalLB BGPPeers, the fabric router's sessions to the nodes' speakers")
  .argument('[node]', "only this node ('fabric': MetalLB's router)")
  .addOption(outputOption('json'))
  .addOption(labOption())
  .action(async (node: string | undefined, opts: { output?: string; lab?: string }) => {
    process.stdout.write(await (await commands()).bgpCommand(node, opts));
  });

program
  .command('node')
  .description('take a node down as a failure would (its underlay link down, BIRD and pods frozen; NotReady) or bring it back')
  .argument('<action>', 'stop | start')
  .argument('<name>', 'node name')
  .addOption(outputOption('json'))
  .addOption(labOption())
  .action(async (action: string, name: string, opts: { output?: string; lab?: string }) => {
    process.stdout.write(await (await commands()).nodeCommand(action, name, opts));
  });

program
  .command('routes')
  .description("show a node's kernel routes, each with what it is for (local pod, own block, learned via BGP, tunnel)")
  .argument('<node>', 'node name')
  .addOption(outputOption('json'))
  .addOption(labOption())
  .action(async (node: string, opts: { output?: string; lab?: string }) => {
    process.stdout.write(await (await commands()).routesCommand(node, opts));
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
    process.exitCode = await (await commands()).curlCommand(target, url, extra[0] === '--' ? extra.slice(1) : extra, opts);
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
