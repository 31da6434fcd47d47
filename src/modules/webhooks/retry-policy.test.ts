import { retryDelayMs, shouldDisable } from './retry-policy.js';

describe('retry delays', () => {
  const policy = { retryBaseMs: 10_000, retryMaxMs: 3_600_000 };
  it('double with every attempt, capped, with jitter between half and all of it', () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, policy, () => 1))).toEqual([10_000, 20_000, 40_000, 80_000]);
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, policy, () => 0))).toEqual([5_000, 10_000, 20_000, 40_000]);
    expect(retryDelayMs(30, policy, () => 1)).toBe(3_600_000);
    expect(retryDelayMs(1000, policy, () => 0)).toBe(1_800_000);
  });
});

describe('disablement', () => {
  const policy = { disableAfterFailures: 20, disableAfterMinutes: 1440 };
  const since = new Date('2026-01-01T00:00:00Z');
  it('needs both the count and the duration', () => {
    expect(shouldDisable(19, since, new Date('2026-01-05T00:00:00Z'), policy)).toBe(false);
    expect(shouldDisable(500, since, new Date('2026-01-01T23:59:00Z'), policy)).toBe(false);
    expect(shouldDisable(20, since, new Date('2026-01-02T00:00:00Z'), policy)).toBe(true);
    expect(shouldDisable(20, null, new Date('2026-01-02T00:00:00Z'), policy)).toBe(false);
  });
});
