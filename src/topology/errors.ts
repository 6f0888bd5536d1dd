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
  const lines = problems.map((p) => `  ${p.where ? `${p.where} ` : ''}${p.path || '(top level)'}: ${p.message}`);
  return [head, ...lines].join('\n');
}
