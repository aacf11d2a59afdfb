/**
 * Everything that runs after PostgreSQL starts is a named service under one supervisor: it is
 * started, its failure is caught and logged as one line, and it is retried after a growing
 * back-off; stop() ends every service. Nothing a service does can take the server down: the
 * supervisor never rethrows, and the entrypoint logs (never crashes on) a stray rejection.
 */

export interface Service {
  readonly name: string;
  /**
   * Runs the service: resolves when it is done (a one-shot job) or when `signal` aborts (a
   * long-running one). A rejection means it failed; it is run again after a back-off.
   */
  run(signal: AbortSignal): Promise<void>;
}

export interface Backoff {
  firstMs: number;
  maxMs: number;
}

export type ServiceReport = (service: string, message: string, isError: boolean) => void;

export class Supervisor {
  private readonly controller = new AbortController();

  constructor(
    private readonly report: ServiceReport,
    private readonly backoff: Backoff = { firstMs: 2000, maxMs: 300_000 },
    private readonly now: () => number = Date.now,
  ) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Starts a service; the returned promise settles when it is done for good (never rejects). */
  start(service: Service): Promise<void> {
    return this.runWithRetries(service).catch((e: unknown) => this.safeReport(service.name, `supervisor: ${describe(e)}`));
  }

  stop(): void {
    this.controller.abort();
  }

  /** The wait before attempt `attempt + 1`: doubling from firstMs, at most maxMs. */
  delayAfter(attempt: number): number {
    return Math.min(this.backoff.maxMs, this.backoff.firstMs * 2 ** Math.min(attempt - 1, 30));
  }

  /** A report that fails (a closed log) must not end the service either. */
  private safeReport(service: string, message: string): void {
    try {
      this.report(service, message, true);
    } catch {
      // Nothing left to tell it to.
    }
  }

  private async runWithRetries(service: Service): Promise<void> {
    let attempt = 0;
    while (!this.signal.aborted) {
      const started = this.now();
      try {
        await service.run(this.signal);
        return;
      } catch (e) {
        if (this.signal.aborted) return;
        // A service that ran for a while before it failed (a server up for weeks) starts its back-off over.
        attempt = this.now() - started >= this.backoff.maxMs ? 1 : attempt + 1;
        const delay = this.delayAfter(attempt);
        this.safeReport(service.name, `failed (attempt ${attempt}): ${describe(e)}; retrying in ${Math.round(delay / 1000)} s`);
        await sleep(delay, this.signal);
      }
    }
  }
}

/** Waits `ms`, or less when `signal` aborts first; never rejects. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}

/** Polls `check` every `intervalMs` until it is true; false when `signal` aborted first. */
export async function waitFor(check: () => Promise<boolean>, intervalMs: number, signal: AbortSignal): Promise<boolean> {
  while (!signal.aborted) {
    if (await check()) return true;
    await sleep(intervalMs, signal);
  }
  return false;
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
