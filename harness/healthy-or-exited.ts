/**
 * Testcontainers' health-check wait, except that a container which exits first fails the wait at
 * once, naming its exit status: on Podman the module's own wait went on for the whole startup
 * timeout (300 s for a replica) after a refusal had already ended the container (Docker marks a
 * stopped container unhealthy, which that wait did notice, without the status).
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
      // Podman 4.3's API says "stopped" for an exited container that is not cleaned up yet.
      if (["exited", "stopped", "dead"].includes(State.Status))
        throw new Error(`The container exited with status ${State.ExitCode} before its health check passed`);
      if (State.Health?.Status === "unhealthy") throw new Error("Health check failed: unhealthy");
      if (Date.now() > deadline) throw new Error(`Health check not healthy after ${this.startupTimeoutMs}ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
