#!/bin/sh
# Random secrets for compose.yaml in ./secrets, once: existing files are kept. Hex values, so
# they are safe in URLs (mc's MC_HOST_local) and connection strings.
set -eu
cd "$(dirname "$0")"
umask 077
mkdir -p secrets
chmod 0700 secrets
for name in postgres_password replication_password access_key secret_key; do
  if [ ! -s "secrets/$name" ]; then
    od -An -tx1 -N24 /dev/urandom | tr -d ' \n' > "secrets/$name"
    echo "secrets/$name created"
  fi
done
