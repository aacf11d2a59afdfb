#!/bin/sh
# Ready = the real server accepts TCP connections on 127.0.0.1 (the temporary init server listens
# on the unix socket only) and, after a restore, recovery has ended: a restored primary accepts
# read-only connections while it replays WAL, but it is not ready until it is writable. With
# RESTORE_TARGET_ACTION=pause the user asked for a paused, read-only server, so that counts.
# The superuser is named so the probe is not logged as a failed login.
if [ -f "${PGDATA:-/var/lib/postgresql/18/docker}/recovery.signal" ] && [ "${RESTORE_TARGET_ACTION:-promote}" != pause ]; then
    exit 1
fi
user="${POSTGRES_USER:-}"
if [ -z "$user" ] && [ -n "${POSTGRES_USER_FILE:-}" ] && [ -r "$POSTGRES_USER_FILE" ]; then
    user="$(cat "$POSTGRES_USER_FILE")"
fi
exec pg_isready -q -h 127.0.0.1 -p "${POSTGRES_PORT:-${PGPORT:-5432}}" -U "${user:-postgres}" -d postgres
