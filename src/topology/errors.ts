import { printable } from '../util/printable.js';

/** One problem found in the user's input, located by its path in the file. */
export interface InputProblem {
  /** Dotted path in the topology file, e.g. `spec.nodes[2].name`. */
  path: string;
  message: string;
  /** `file:line:col` when the location is known. */
  where?: string;
}

/** Bad user input: every problem found, so the user can fix them all at once. Nothing was changed. */
export class InputError extends Error {
  constructor(
    readonly source: string,
    readonly problems: InputProblem[],
  ) {
    super(formatProblems(source, problems));
    this.name = 'InputError';
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

function formatProblems(source: string, problems: InputProblem[]): string {
  const head = `${source}: ${problems.length} problem${problems.length === 1 ? '' : 's'}; nothing was changed`;
  // Paths and messages quote the user's own text: escaped, so a name with a newline cannot forge a line.
  const lines = problems.map((p) => `  ${p.where ? `${printable(p.where, 400)} ` : ''}${printable(p.path, 400) || '(top level)'}: ${printable(p.message, 1000)}`);
  return [printable(head, 400), ...lines].join('\n');
}
