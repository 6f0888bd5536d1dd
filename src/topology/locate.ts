/**
 * `file:line:col` of a problem's field in the manifest text it came from, so an error names the
 * manifest's own file and line (not the topology's). Only run when there are problems: it parses the
 * text a second time, with positions.
 */
import { LineCounter, isNode, parseAllDocuments } from 'yaml';
import type { InputProblem } from './errors.js';

/** `spec.ports[1].name`, `metadata.annotations['a/b']` → ['spec','ports',1,'name'], ['metadata','annotations','a/b']. */
export function fieldParts(path: string): (string | number)[] {
  const parts: (string | number)[] = [];
  for (const m of path.matchAll(/\['([^']*)'\]|\[(\d+)\]|([^.[\]]+)/g)) parts.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : m[3]!));
  return parts;
}

/**
 * Give each problem whose path starts with `origin` (`origin` or `origin (document N)`) the position of
 * its field (its value's first character) in `text`, read as `file`. `documents` is how many objects
 * the text held (the caller skips texts with kind: List, whose document numbers count items).
 */
export function locateProblems(text: string, file: string, origin: string, problems: InputProblem[], documents: number): void {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines });
  if (!Array.isArray(docs)) return;
  const real = docs.filter((d) => d.contents !== null);
  if (real.length !== documents) return;
  for (const p of problems) {
    if (p.where || !p.path.startsWith(origin)) continue;
    const m = /^ \(document (\d+)\)/.exec(p.path.slice(origin.length));
    const index = m ? Number(m[1]) - 1 : 0;
    const rest = p.path.slice(origin.length + (m ? m[0].length : 0)).replace(/^\./, '');
    const doc = real[index];
    if (!doc) continue;
    const parts = fieldParts(rest);
    for (let n = parts.length; n >= 0; n--) {
      const node = doc.getIn(parts.slice(0, n), true);
      if (isNode(node) && node.range) {
        const { line, col } = lines.linePos(node.range[0]);
        p.where = `${file}:${line}:${col}`;
        break;
      }
    }
  }
}
