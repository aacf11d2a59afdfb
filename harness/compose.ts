/**
 * The published compose.yaml, run by a real compose implementation against the test engine:
 * Debian's docker-compose (1.29), installed on first use like Podman (testcontainers' compose
 * support drives `docker compose` v2, which this machine's Docker CLI lacks). The project is
 * copied to a temporary directory (its own .env and ./secrets), with override files on top.
 */
import { copyFileSync, cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { $ } from "zx";
import { aptInstall, containerEngine, hasCommand } from "./engine.js";
import { projectRoot } from "./paths.js";

export interface ComposeResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** docker-compose's name on PATH; installs Debian's package when it is missing (Debian, root). */
async function dockerCompose(): Promise<string> {
  if (!(await hasCommand("docker-compose"))) await aptInstall("docker-compose (for @compose)", ["docker-compose"]);
  return "docker-compose";
}

export class ComposeStack {
  private readonly overrides: string[] = [];
  private env: Record<string, string> = {};
  private dotEnv = "";

  /** Adds an override file (copied beside compose.yaml). */
  withOverride(path: string): this {
    this.overrides.push(path);
    return this;
  }

  /** Variables for compose's own substitution (the image tags, published ports). */
  withEnvironment(env: Record<string, string>): this {
    this.env = { ...this.env, ...env };
    return this;
  }

  /** The project's .env, as a user writes it after `cp .env.example .env`. */
  withDotEnv(text: string): this {
    this.dotEnv = text;
    return this;
  }

  /** Copies the project, creates its secrets with secrets.sh, runs `up -d` for the services named. */
  async up(services: string[] = []): Promise<StartedComposeStack> {
    const dir = mkdtempSync(join(tmpdir(), "pgba-compose-"));
    for (const file of ["compose.yaml", "secrets.sh", ".env.example"]) copyFileSync(join(projectRoot, file), join(dir, file));
    // compose checks that a service's build context exists even when it does not build.
    cpSync(join(projectRoot, "image"), join(dir, "image"), { recursive: true, filter: (source) => !source.includes(`${join("image", "build")}`) });
    for (const file of this.overrides) copyFileSync(file, join(dir, basename(file)));
    writeFileSync(join(dir, ".env"), this.dotEnv);
    await $({ quiet: true, cwd: dir })`sh ./secrets.sh`;
    const stack = new StartedComposeStack(
      dir,
      `pgba${basename(dir)
        .slice("pgba-compose-".length)
        .toLowerCase()
        .replace(/[^a-z0-9]/g, "")}`,
      ["compose.yaml", ...this.overrides.map((f) => basename(f))],
      { ...this.env, DOCKER_HOST: (await containerEngine()).dockerHost },
      await dockerCompose(),
    );
    try {
      await stack.compose(["up", "-d", "--no-build", ...services]);
    } catch (e) {
      await stack.down();
      throw e;
    }
    return stack;
  }
}

export class StartedComposeStack {
  constructor(
    /** The project directory: compose.yaml, .env, secrets/. */
    readonly directory: string,
    readonly project: string,
    private readonly files: string[],
    private readonly env: Record<string, string>,
    private readonly command: string,
  ) {}

  /** Runs docker-compose with this project's files; returns its result, never throws. */
  async run(args: string[]): Promise<ComposeResult> {
    const fileArgs = this.files.flatMap((f) => ["-f", f]);
    const r = await $({
      nothrow: true,
      quiet: true,
      cwd: this.directory,
      env: { ...process.env, ...this.env },
    })`${this.command} -p ${this.project} ${fileArgs} ${args}`;
    return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  /** Like run(), but throws with compose's output on a non-zero exit. */
  async compose(args: string[]): Promise<string> {
    const r = await this.run(args);
    if (r.exitCode !== 0) throw new Error(`docker-compose ${args.join(" ")} exited ${r.exitCode}: ${(r.stderr || r.stdout).slice(-2000)}`);
    return r.stdout;
  }

  /** `docker-compose exec -T` (no TTY), as root unless a user is given. */
  exec(service: string, command: string[], user?: string): Promise<ComposeResult> {
    return this.run(["exec", "-T", ...(user ? ["-u", user] : []), service, ...command]);
  }

  /** The container id of a service. */
  async containerId(service: string): Promise<string> {
    return (await this.compose(["ps", "-q", service])).trim();
  }

  /** The host port published for a service's container port. */
  async hostPort(service: string, port: number): Promise<number> {
    const published = (await this.compose(["port", service, String(port)])).trim();
    return Number(published.slice(published.lastIndexOf(":") + 1));
  }

  /** A file of the project directory, e.g. secrets/postgres_password. */
  path(relative: string): string {
    return join(this.directory, relative);
  }

  /** Removes the containers, networks and (by default) volumes, then the project directory. */
  async down(options: { volumes?: boolean } = {}): Promise<void> {
    await this.run(["--profile", "replica", "--profile", "adminer", "down", "-t", "5", ...(options.volumes === false ? [] : ["-v"])]);
    rmSync(this.directory, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.down();
  }
}
