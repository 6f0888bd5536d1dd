import { describe, expect, it } from 'vitest';
import { RULE_SWEEP_MS, RuleCheckSchedule } from '../../src/lab/daemons/rule-checks.js';

const node = (file: string) => /node\.(\w+)$/.exec(file)?.[1];
const names = (d: { all: boolean; nodes: Set<string> }) => (d.all ? 'all' : [...d.nodes].sort().join(','));

describe('RuleCheckSchedule', () => {
  it('without change events checks every node on its period', () => {
    const s = new RuleCheckSchedule(1000);
    expect(names(s.due(5000, undefined, false, node))).toBe('all');
    expect(names(s.due(5500, undefined, false, node))).toBe('');
    expect(names(s.due(6000, undefined, false, node))).toBe('all');
  });

  it('with events checks all at first, then only the nodes whose rules changed, and all again each sweep', () => {
    const s = new RuleCheckSchedule(1000);
    expect(names(s.due(5000, new Set(), false, node))).toBe('all');
    expect(names(s.due(6000, new Set(), false, node))).toBe('');
    expect(names(s.due(7000, new Set(['/run/netns/kemu-l.node.n2', '/run/netns/other']), false, node))).toBe('n2');
    expect(names(s.due(7250, new Set(), false, node))).toBe('');
    expect(names(s.due(5000 + RULE_SWEEP_MS, new Set(), false, node))).toBe('all');
  });

  it('waits while the lab lock is held, keeping the changed nodes for later', () => {
    const s = new RuleCheckSchedule(1000);
    s.due(0 + RULE_SWEEP_MS, new Set(), false, node);
    expect(names(s.due(RULE_SWEEP_MS + 100, new Set(['/run/netns/kemu-l.node.n1']), true, node))).toBe('');
    expect(names(s.due(RULE_SWEEP_MS + 200, new Set(['/run/netns/kemu-l.node.n3']), true, node))).toBe('');
    expect(names(s.due(RULE_SWEEP_MS + 300, new Set(), false, node))).toBe('n1,n3');
  });
});
