#!/bin/sh
# Kept under the official image's name: tools exec it directly (testcontainers' SSL mode does).
exec node /usr/local/lib/postgres-ba/postgres-ba.mjs entrypoint "$@"
