/** kemu's entry point: the only module that prints and exits. */
import { Command, Option } from 'commander';
import { InputError } from '../topology/errors.js';
import type { Reporter } from '../lab/progress.js';
import { bgpCommand, curlCommand, downCommand, routesCommand, execCommand, getCommand, lsCommand, upCommand } from './commands.js';

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
  .enablePositionalOptions()
  .configureHelp({ sortSubcommands: false });

const labOption = () => new Option('--lab <name>', 'the lab to use (needed only when several labs run)');
const outputOption = (formats: string) => new Option('-o, --output <format>', `output format: ${formats}`);

program
  .command('up')
  .description('create or update a lab from a topology file (idempotent; completes an interrupted run)')
  .argument('<file>', 'topology file (YAML, kind Topology)')
  .option('--dry-run', 'show what would change and change nothing')
  .option('-q, --quiet', 'no progress output')
  .addOption(outputOption('json'))
  .action(async (file: string, opts: { dryRun?: boolean; quiet?: boolean; output?: string }) => {
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
    process.stdout.write(await lsCommand(opts));
  });

program
  .command('get')
  .description('show nodes, pods, services, endpoints or endpointslices of a lab, like kubectl get')
  .argument('<kind>', 'nodes | pods | svc | endpoints | endpointslices')
  .addOption(outputOption('wide | json'))
  .addOption(labOption())
  .action(async (kind: string, opts: { output?: string; lab?: string }) => {
    process.stdout.write(await getCommand(kind, opts));
  });

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
  if (err instanceof InputError) process.stderr.write(`kemu: invalid input in ${err.message}\n`);
  else process.stderr.write(`kemu: ${(err as Error).message}\n`);
  process.exitCode = err instanceof InputError ? 2 : 1;
}
