import { describe, expect, it } from 'vitest';
import { formatCpu, formatMemory, parseCpu, parseMemory } from '../../src/util/quantity.js';

describe('cpu quantities', () => {
  it.each([
    ['100m', 100],
    ['250m', 250],
    ['0.5', 500],
    ['.5', 500],
    ['2', 2000],
    [2, 2000],
    [0.25, 250],
    ['1.5', 1500],
    ['+1', 1000],
    ['0', 0],
    ['0.0001', 1],
    ['1.0001', 1001],
    ['0.1', 100],
    ['1k', 1_000_000],
    ['1M', 1_000_000_000],
    ['1Mi', 1048576 * 1000],
    ['1e3', 1_000_000],
    ['5e-1', 500],
    ['1E', 1e21],
  ] as const)('%s → %s millicores', (q, milli) => expect(parseCpu(q)).toBe(milli));

  it.each(['abc', '-1', '-100m', '', ' 1', '1 ', '1.2.3', '1e', '1x', '1mi', '1KI', 'm', '.', -1, Number.NaN, Number.POSITIVE_INFINITY])('rejects %j', (q) =>
    expect(parseCpu(q)).toBeUndefined(),
  );

  it('formats whole cores plain and the rest in millicores', () => {
    expect(formatCpu(100)).toBe('100m');
    expect(formatCpu(2000)).toBe('2');
    expect(formatCpu(1500)).toBe('1500m');
    expect(formatCpu(0)).toBe('0');
  });
});

describe('memory quantities', () => {
  it.each([
    ['1000', 1000],
    [1000, 1000],
    ['1Ki', 1024],
    ['128Mi', 134217728],
    ['1Gi', 1073741824],
    ['1.5Gi', 1610612736],
    ['1Ti', 2 ** 40],
    ['1Pi', 2 ** 50],
    ['1Ei', 2 ** 60],
    ['1k', 1000],
    ['1M', 1_000_000],
    ['1G', 1e9],
    ['1T', 1e12],
    ['1P', 1e15],
    ['1E', 1e18],
    ['1e3', 1000],
    ['129e6', 129_000_000],
    ['129E6', 129_000_000],
    ['1e-3', 1],
    ['1000m', 1],
    ['1500m', 2],
    ['1m', 1],
    ['0.5Ki', 512],
    ['0', 0],
  ] as const)('%s → %s bytes', (q, bytes) => expect(parseMemory(q)).toBe(bytes));

  it.each(['abc', '-1', '-1Gi', '', '1GB', '1gi', '1e1.5', 'Gi', -5, '1e99999'])('rejects %j', (q) => expect(parseMemory(q)).toBeUndefined());

  it('formats in the largest binary unit that divides exactly', () => {
    expect(formatMemory(134217728)).toBe('128Mi');
    expect(formatMemory(1073741824)).toBe('1Gi');
    expect(formatMemory(1536 * 1024 * 1024)).toBe('1536Mi');
    expect(formatMemory(2048)).toBe('2Ki');
    expect(formatMemory(1500)).toBe('1500');
    expect(formatMemory(0)).toBe('0');
  });

  it('round-trips what it formats', () => {
    for (const bytes of [1, 1024, 134217728, 3 * 2 ** 30, 2 ** 60, 123456789]) expect(parseMemory(formatMemory(bytes))).toBe(bytes);
  });
});
