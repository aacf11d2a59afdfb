#!/usr/bin/env bash
# What a downstream team does: install the packed fixtures (npm pack, the same tarball a registry
# would serve) into a project of its own, outside this repository so nothing resolves to our
# sources or toolchain, and run its own spec with vitest.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d /tmp/pgba-downstream-XXXXXX)"
trap 'rm -rf "$work"' EXIT

(cd "$root" && npm pack --silent --pack-destination "$work" >/dev/null)
cp "$root"/examples/downstream/{package.json,vitest.config.ts,global-setup.ts,backup.spec.ts} "$work/"
cd "$work"
echo "== installing $(ls postgres-pgbackrest-*.tgz) ($(du -k postgres-pgbackrest-*.tgz | cut -f1) kB) into $work"
npm install --no-audit --no-fund --loglevel=error ./postgres-pgbackrest-*.tgz vitest@^4.1.12
# The engine this repository's harness already serves, as a team would point at its own Docker.
if [ -z "${DOCKER_HOST:-}" ] && [ -S "$root/.run/podman.sock" ]; then export DOCKER_HOST="unix://$root/.run/podman.sock"; fi
npx vitest run
