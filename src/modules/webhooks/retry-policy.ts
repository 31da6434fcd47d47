/** How failed deliveries are retried and when a failing endpoint is disabled (ROSTER_WEBHOOK_* settings). */
export interface RetryPolicy {
  retryBaseMs: number;
  retryMaxMs: number;
  disableAfterFailures: number;
  disableAfterMinutes: number;
}

/**
 * Delay before the retry that follows failed attempt number `attempt` (1-based): exponential (base,
 * 2×base, 4×base, …, capped at max) with "equal jitter", a random half of it, so that deliveries that
 * failed together (an endpoint went down) do not all come back at the same instant.
 */
export function retryDelayMs(
  attempt: number,
  policy: Pick<RetryPolicy, 'retryBaseMs' | 'retryMaxMs'>,
  random: () => number = Math.random,
): number {
  const exp = Math.min(policy.retryMaxMs, policy.retryBaseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  return Math.round(exp / 2 + random() * (exp / 2));
}

/**
 * A subscription is disabled when its endpoint failed `disableAfterFailures` attempts in a row (any
 * success resets the count) and has been failing for at least `disableAfterMinutes`: a burst of failures
 * during a short outage does not disable it, a dead endpoint does.
 */
export function shouldDisable(
  consecutiveFailures: number,
  failingSince: Date | null,
  now: Date,
  policy: Pick<RetryPolicy, 'disableAfterFailures' | 'disableAfterMinutes'>,
): boolean {
  if (consecutiveFailures < policy.disableAfterFailures || !failingSince) return false;
  return now.getTime() - failingSince.getTime() >= policy.disableAfterMinutes * 60_000;
}
