import { describe, expect, it } from 'vitest';
import { judgeMemory, type MemorySample } from '../../bench/lib/memory-trend.js';

// The soak's memory rule (npm run soak), on series of heap samples shaped like what it measures.

const MB = 1024 * 1024;
const rule = { allowedBytes: 2 * MB, allowedFraction: 0.05, steadyRiseBytes: 1 * MB };

/**
 * Judged samples 30 s apart whose heap of objects is heapsMb (MB) and whose code grows by 0.3 MB at
 * each step (what V8's compiled code does under load), after one unjudged start sample.
 */
function series(heapsMb: readonly number[]): MemorySample[] {
  const base = {
    external: 0,
    arrayBuffers: 0,
    rss: 0,
    poolConnections: 10,
    requests: 0,
    pushes: 0,
  };
  return [
    { ...base, label: 'start', atSeconds: 0, heapUsed: 10 * MB, code: MB, judged: false },
    ...heapsMb.map((heap, i) => ({
      ...base,
      label: `sample ${i}`,
      atSeconds: 30 + 30 * i,
      heapUsed: (heap + 2 + 0.3 * i) * MB,
      code: (2 + 0.3 * i) * MB,
      judged: true,
    })),
  ];
}

describe('judgeMemory', () => {
  it('passes noise around a flat heap, and measures it', () => {
    const verdict = judgeMemory(series([80, 79.7, 80.2, 79.9, 80.3, 80.1]), rule);
    expect(verdict.passed).toBe(true);
    expect(verdict.reasons).toEqual([]);
    expect(verdict.bound).toBe(4 * MB); // 5 % of 80 MB is more than 2 MB
    expect(verdict.growth).toBeCloseTo(0.1 * MB, 0);
    expect(verdict.largestStep).toBeCloseTo(0.5 * MB, 0);
    expect(verdict.monotonic).toBe(false);
  });

  it('fails when the end heap is further above the warm-up heap than the bound', () => {
    const verdict = judgeMemory(series([20, 20.5, 20.1, 20.3, 22.5]), rule);
    expect(verdict.bound).toBe(2 * MB); // 5 % of 20 MB is less than 2 MB
    expect(verdict.passed).toBe(false);
    expect(verdict.reasons).toEqual([
      'the heap of objects ends 2.5 MB above the warm-up, more than the 2.0 MB allowed',
    ]);
  });

  it('fails a steady rise whose trend exceeds the bound even if the last sample dips', () => {
    const verdict = judgeMemory(series([80, 82, 84, 86, 88, 90, 81]), rule);
    expect(verdict.growth).toBeCloseTo(1 * MB, 0);
    expect(verdict.passed).toBe(false);
    expect(verdict.reasons).toHaveLength(1);
    expect(verdict.reasons[0]).toMatch(/^the trend of the samples rises 4\.\d MB over the run/);
  });

  it('fails a steady rise within the bound that adds up to more than the steady-rise limit', () => {
    const leak = judgeMemory(series([80, 80.3, 80.6, 80.9, 81.2, 81.5]), rule);
    expect(leak.monotonic).toBe(true);
    expect(leak.passed).toBe(false);
    expect(leak.reasons).toEqual([
      'the heap of objects grew at every one of the 5 steps between samples, 1.5 MB in all, more than the 1.0 MB allowed',
    ]);
  });

  it('passes a rise at every step that stays below the steady-rise limit, or too few steps', () => {
    const creep = judgeMemory(series([80, 80.2, 80.3, 80.35, 80.4]), rule);
    expect(creep.monotonic).toBe(true);
    expect(creep.passed).toBe(true);
    // With three judged samples two rises are too likely by chance to be called a leak.
    const short = judgeMemory(series([80, 80.8, 81.6]), rule);
    expect(short.monotonic).toBe(false);
    expect(short.passed).toBe(true);
  });

  it('does not count the growth of compiled code', () => {
    // 1.8 MB more heap over six steps, all of it code: the heap of objects is flat.
    expect(judgeMemory(series([80, 80, 80, 80, 80, 80, 80]), rule).passed).toBe(true);
  });

  it('needs the warm-up and the end sample', () => {
    expect(() => judgeMemory(series([80]), rule)).toThrow(/at least the warm-up and the end/);
  });
});
