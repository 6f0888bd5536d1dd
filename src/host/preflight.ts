/** Checks before kemu touches anything: root, and every program it will run. */
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { HOLDER_BIN, NETEXEC_BIN, SANDBOX_BIN } from './sandbox.js';

const PROGRAMS = ['ip', 'nsenter', 'sysctl', 'sh', 'iptables-restore', HOLDER_BIN];

async function executable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(() => true, () => false);
}

async function onPath(program: string): Promise<boolean> {
  const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/sbin']);
  for (const d of dirs) if (d && (await executable(join(d, program)))) return true;
  return false;
}

export async function preflight(): Promise<void> {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push('kemu creates network namespaces and must run as root (sudo kemu …)');
  for (const p of PROGRAMS) if (!(await onPath(p))) problems.push(`'${p}' is not installed`);
  for (const bin of [NETEXEC_BIN, SANDBOX_BIN]) if (!(await executable(bin))) problems.push(`${bin} is not built`);
  if (problems.length) throw new Error(`cannot start:\n  ${problems.join('\n  ')}\nrun scripts/setup.sh to install and build everything kemu needs`);
}
