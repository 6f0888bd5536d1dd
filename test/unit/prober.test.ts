/** The kubelet-style probe workers (src/lab/probes/prober.ts), pure: timing, thresholds, startup gating. */
import { describe, expect, it } from 'vitest';
import type { PodState, ProbeSpec } from '../../src/cluster/types.js';
import { dueProbes, foldResults, newProberState } from '../../src/lab/probes/prober.js';
import type { PodRuntime } from '../../src/lab/state.js';

const T0 = Date.parse('2025-01-01T00:00:00Z');
const at = (s: number) => T0 + s * 1000;
const spec = (o: Partial<ProbeSpec> = {}): ProbeSpec => ({ kind: 'httpGet', port: 80, path: '/healthz', initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3, ...o }) as ProbeSpec;

function pod(probes: { readinessProbe?: ProbeSpec; livenessProbe?: ProbeSpec; startupProbe?: ProbeSpec }): PodState {
  return {
    namespace: 'default', name: 'p', labels: {}, annotations: {}, nodeName: 'n1', ip: '10.244.0.5', hostIP: '192.168.0.2', restartPolicy: 'Always', origin: 'x',
    containers: [{ name: 'c', image: 'x', tcpPorts: [80], udpPorts: [], declaredPorts: [], probePaths: ['/healthz'], ...probes }],
  };
}
const runtime = (o: Partial<PodRuntime['containers'][string]> = {}, ready = false): Record<string, PodRuntime> => ({
  'default/p': { holderPid: 1, ready, startedAt: new Date(T0).toISOString(), containers: { c: { pid: 100, hash: 'h', restarts: 0, startedAt: new Date(T0).toISOString(), ...o } } },
});

describe('probe workers', () => {
  it('start after initialDelaySeconds and run every periodSeconds', () => {
    const state = newProberState();
    const pods = [pod({ livenessProbe: spec({ initialDelaySeconds: 5, periodSeconds: 2 }) })];
    const rt = runtime();
    const due = (s: number) => dueProbes(pods, rt, state, at(s)).map((d) => d.kind);
    expect(due(0)).toEqual([]);
    expect(due(4.9)).toEqual([]);
    expect(due(5)).toEqual(['liveness']);
    expect(due(6)).toEqual([]);
    expect(due(7)).toEqual(['liveness']);
  });

  it('liveness: failureThreshold failures in a row stop the container, with the kubelet\'s words; a success in between resets the count', () => {
    const state = newProberState();
    const pods = [pod({ livenessProbe: spec({ periodSeconds: 1, failureThreshold: 3 }) })];
    const rt = runtime();
    const step = (s: number, fail: boolean) => {
      const due = dueProbes(pods, rt, state, at(s));
      return foldResults(due, new Set(fail ? due.map((_, i) => i) : []), state, rt).kill;
    };
    expect(step(0, true)).toEqual([]);
    expect(step(1, true)).toEqual([]);
    expect(step(2, false)).toEqual([]);
    expect(step(3, true)).toEqual([]);
    expect(step(4, true)).toEqual([]);
    expect(step(5, true)).toEqual([{ pod: 'default/p', container: 'c', message: 'Container c failed liveness probe, will be restarted' }]);
    // A restarted container (another pid) gets a fresh worker.
    rt['default/p']!.containers.c!.pid = 101;
    expect(step(6, true)).toEqual([]);
  });

  it('a startupProbe gates liveness and readiness until it passes', () => {
    const state = newProberState();
    const pods = [pod({ startupProbe: spec({ periodSeconds: 1, failureThreshold: 2 }), livenessProbe: spec({ periodSeconds: 1 }), readinessProbe: spec({ periodSeconds: 1 }) })];
    const rt = runtime();
    const d0 = dueProbes(pods, rt, state, at(0));
    expect(d0.map((d) => d.kind)).toEqual(['startup']);
    expect(foldResults(d0, new Set(), state, rt).started).toEqual([{ pod: 'default/p', container: 'c' }]);
    rt['default/p']!.containers.c!.started = true;
    expect(dueProbes(pods, rt, state, at(1)).map((d) => d.kind)).toEqual(['liveness', 'readiness']);

    const s2 = newProberState();
    const rt2 = runtime();
    const fail = (s: number) => {
      const due = dueProbes(pods, rt2, s2, at(s));
      return foldResults(due, new Set(due.map((_, i) => i)), s2, rt2).kill.map((k) => k.message);
    };
    expect(fail(0)).toEqual([]);
    expect(fail(1)).toEqual(['Container c failed startup probe, will be restarted']);
  });

  it('readiness flips after failureThreshold failures, back after successThreshold successes, starting from what the record says', () => {
    const state = newProberState();
    const pods = [pod({ readinessProbe: spec({ periodSeconds: 1, failureThreshold: 2, successThreshold: 2 }) })];
    const rt = runtime({}, true);
    const step = (s: number, fail: boolean) => {
      const due = dueProbes(pods, rt, state, at(s));
      const v = foldResults(due, new Set(fail ? due.map((_, i) => i) : []), state, rt);
      if (v.readinessChanged.length) rt['default/p']!.ready = !rt['default/p']!.ready;
      return rt['default/p']!.ready;
    };
    expect(step(0, true)).toBe(true);
    expect(step(1, true)).toBe(false);
    expect(step(2, false)).toBe(false);
    expect(step(3, false)).toBe(true);
  });

  it('dead containers and terminating pods are not probed', () => {
    const state = newProberState();
    const pods = [pod({ livenessProbe: spec() })];
    expect(dueProbes(pods, runtime({ diedAt: new Date(T0).toISOString() }), state, at(0))).toEqual([]);
    expect(dueProbes([{ ...pods[0]!, terminating: true }], runtime(), state, at(0))).toEqual([]);
  });
});
