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
# The engine this repository's harness serves (started if need be), as a team points at its own
# Docker; without it the installed package would start a Podman service of its own in $work.
DOCKER_HOST="${DOCKER_HOST:-$(cd "$root" && npx --no-install tsx harness/docker-host.ts | tail -1)}"
export DOCKER_HOST
npx vitest run
