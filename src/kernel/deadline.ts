/**
 * A request's time budget. Okta closes the connection after 60 seconds, so a request that cannot finish
 * in time must fail cleanly before that: answered with a typed, retryable error, its transaction rolled
 * back and its statement in flight cancelled. The request-deadline middleware owns the timer; the
 * request's transaction reads the remaining budget (as its statement_timeout) and registers the
 * cancellation of its database work.
 */
export class Deadline {
  readonly at: number;
  #expired = false;
  readonly #listeners = new Set<() => void>();

  constructor(
    readonly ms: number,
    now = Date.now(),
  ) {
    this.at = now + ms;
  }

  get expired(): boolean {
    return this.#expired;
  }

  remainingMs(): number {
    return Math.max(0, this.at - Date.now());
  }

  /** Runs `fn` when the deadline passes (at once if it has). Returns the unregistration. */
  onExpire(fn: () => void): () => void {
    if (this.#expired) {
      fn();
      return () => {};
    }
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  expire(): void {
    if (this.#expired) return;
    this.#expired = true;
    for (const fn of this.#listeners) {
      try {
        fn();
      } catch {
        // a failed cancellation changes nothing: the transaction still cannot commit
      }
    }
    this.#listeners.clear();
  }
}

/** Seconds a client is told to wait (Retry-After) after a request ran out of time. */
export const TIMEOUT_RETRY_AFTER_SECONDS = 5;

/** The request ran out of time; nothing it did was committed. Doors answer 503 with Retry-After. */
export class RequestTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`the request did not complete within ${Math.round(timeoutMs / 100) / 10} seconds and was abandoned; nothing was changed`);
    this.name = 'RequestTimeoutError';
  }
}
