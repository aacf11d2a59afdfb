/**
 * Testcontainers' health-check wait, except that a container which exits first fails the wait at
 * once, naming its exit status: the module's own wait went on for the whole startup timeout
 * (300 s for a restore) after a refusal had already ended the container.
 */
import type Dockerode from "dockerode";
import type { WaitStrategy } from "testcontainers";

export class HealthyOrExitedWaitStrategy implements WaitStrategy {
  private startupTimeoutMs = 60_000;
  private startupTimeoutSet = false;

  withStartupTimeout(startupTimeoutMs: number): this {
    this.startupTimeoutMs = startupTimeoutMs;
    this.startupTimeoutSet = true;
    return this;
  }

  isStartupTimeoutSet(): boolean {
    return this.startupTimeoutSet;
  }

  getStartupTimeout(): number {
    return this.startupTimeoutMs;
  }

  async waitUntilReady(container: Dockerode.Container): Promise<void> {
    const deadline = Date.now() + this.startupTimeoutMs;
    for (;;) {
      const { State } = await container.inspect();
      if (State.Health?.Status === "healthy") return;
      if (State.Health?.Status === "unhealthy") throw new Error("Health check failed: unhealthy");
      if (State.Status === "exited") throw new Error(`The container exited with status ${State.ExitCode} before its health check passed`);
      if (Date.now() > deadline) throw new Error(`Health check not healthy after ${this.startupTimeoutMs}ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
