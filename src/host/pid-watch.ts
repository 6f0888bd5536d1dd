/**
 * Events instead of polling, for the supervisor: native/kemu-pidwatch holds a pidfd for every watched
 * process and a link-event socket in every watched network namespace; an inotify watch on the netns
 * directory sees a namespace unlinked by name. Each event only raises a flag: the supervisor then
 * reads the record's processes and sandboxes back as it always did, and finds what changed itself.
 * Changes to a node's nftables (what iptables-nft writes) are reported per namespace, so the rule
 * drift checks run only on a node whose rules changed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync, watch, type FSWatcher } from 'node:fs';
import { createInterface } from 'node:readline';
import { NETNS_DIR } from './netns.js';
import { nativeBin } from './paths.js';

export const PIDWATCH_BIN = process.env.KEMU_PIDWATCH ?? nativeBin('kemu-pidwatch');

export class PidWatch {
  private child?: ChildProcess;
  private dir?: FSWatcher;
  private pids = new Set<number>();
  /** path#inode → path */
  private netns = new Map<string, string>();
  private changed = true;
  /** Netns files whose nftables changed since the last takeRulesChanged() */
  private rulesChanged = new Set<string>();
  /** The helper reports nftables changes (a build that knows -r said so). */
  private rulesEvents = false;
  /** False when the helper is missing or died: the caller polls as before. */
  running = false;

  /** Start the helper (with `env`: the marks of its owner; `rules`: report nftables changes too); false when it cannot run here. */
  start(env: NodeJS.ProcessEnv, opts: { rules?: boolean } = {}): boolean {
    if (!existsSync(PIDWATCH_BIN) || !existsSync(NETNS_DIR)) return false;
    const child = spawn(PIDWATCH_BIN, opts.rules ? ['-r'] : [], { stdio: ['pipe', 'pipe', 'inherit'], env });
    this.child = child;
    this.running = true;
    const lost = () => {
      this.running = false;
      this.changed = true;
    };
    child.once('exit', lost);
    child.once('error', lost);
    child.stdin!.on('error', lost);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line === 'rules-events') return void (this.rulesEvents = true);
      const rules = /^rules (.*)$/.exec(line);
      if (rules) return void this.rulesChanged.add(rules[1]!);
      this.changed = true;
      // The helper forgot it: a pid given again later (reused) is sent again.
      const [, what] = /^(?:exit|gone) (.*)$/.exec(line) ?? [];
      if (what !== undefined) {
        this.pids.delete(Number(what));
        for (const [k, n] of this.netns) if (n === what) this.netns.delete(k);
      }
    });
    try {
      this.dir = watch(NETNS_DIR, () => void (this.changed = true));
      this.dir.on('error', lost);
    } catch {
      lost();
    }
    return this.running;
  }

  /** Watch exactly these processes and namespaces (bind files under NETNS_DIR) from now on. */
  set(pids: Iterable<number>, netnsFiles: Iterable<string>): void {
    if (!this.running) return;
    const lines: string[] = [];
    const wantPids = new Set(pids);
    for (const p of this.pids) if (!wantPids.has(p)) lines.push(`- ${p}`);
    for (const p of wantPids) if (!this.pids.has(p)) lines.push(`+ ${p}`);
    // By path and namespace inode: a namespace made again under the same name is watched anew.
    const wantNs = new Map<string, string>();
    for (const n of netnsFiles) wantNs.set(`${n}#${statSync(n, { throwIfNoEntry: false })?.ino ?? 0}`, n);
    for (const [k, n] of this.netns) if (!wantNs.has(k)) lines.push(`x ${n}`);
    for (const [k, n] of wantNs) if (!this.netns.has(k)) lines.push(`n ${n}`);
    this.pids = wantPids;
    this.netns = wantNs;
    if (lines.length) this.child!.stdin!.write(lines.join('\n') + '\n');
  }

  /** Whether anything happened since the last call (always true while not running). */
  takeChanged(): boolean {
    const c = this.changed || !this.running;
    this.changed = false;
    return c;
  }

  /**
   * The watched namespaces whose nftables (iptables-nft's tables, chains and rules) changed since the
   * last call; undefined while the helper does not report them (the caller cannot know, and polls).
   */
  takeRulesChanged(): Set<string> | undefined {
    if (!this.running || !this.rulesEvents) return undefined;
    const changed = this.rulesChanged;
    this.rulesChanged = new Set();
    return changed;
  }

  /** Stop the helper and let go of its pipes: nothing of it keeps the supervisor's event loop alive. */
  stop(): void {
    this.running = false;
    this.dir?.close();
    this.child?.stdin?.destroy();
    this.child?.stdout?.destroy();
    this.child?.kill('SIGKILL');
    this.child?.unref();
  }
}
