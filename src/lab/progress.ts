/** Progress and phase timings of a long operation; the CLI decides how to show them. */
export interface Reporter {
  /** A phase starts. */
  phase(name: string): void;
  /** A line of detail inside the current phase. */
  detail(text: string): void;
}

export class PhaseTimer {
  readonly timings: Array<{ phase: string; ms: number }> = [];
  private current?: { phase: string; started: number };

  constructor(private readonly reporter: Reporter) {}

  start(phase: string): void {
    this.end();
    this.current = { phase, started: performance.now() };
    this.reporter.phase(phase);
  }

  /** A phase run again (a reconcile's later passes) adds to its first entry. */
  end(): void {
    if (this.current) {
      const ms = Math.round(performance.now() - this.current.started);
      const seen = this.timings.find((t) => t.phase === this.current!.phase);
      if (seen) seen.ms += ms;
      else this.timings.push({ phase: this.current.phase, ms });
    }
    this.current = undefined;
  }
}
