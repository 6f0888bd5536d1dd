/**
 * A line buffer like kube-proxy's proxyutil.LineBuffer: each write joins its words with spaces into
 * one line. A discarding buffer only counts lines (partial sync writes unchanged services there).
 */
export type Words = ReadonlyArray<string | ReadonlyArray<string>>;

export class LineBuffer {
  private readonly lines: string[] = [];
  private count = 0;

  constructor(readonly discard = false) {}

  /** Write one line made of `words` (arrays are flattened). */
  write(...words: Words): void {
    this.count++;
    if (!this.discard) this.lines.push(words.flat().join(' '));
  }

  /** Lines written, discarded ones included. */
  get length(): number {
    return this.count;
  }

  text(): string {
    return this.lines.map((line) => `${line}\n`).join('');
  }

  all(): readonly string[] {
    return this.lines;
  }
}

/** `:CHAIN - [0:0]`, the restore line that creates (or flushes) a chain. */
export const chainLine = (chain: string): string => `:${chain} - [0:0]`;

/** A comment argument quoted as kube-proxy writes it: `"…"` (Go code supplies the quotes). */
export const quoted = (text: string): string => `"${text}"`;
