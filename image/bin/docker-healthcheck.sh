#!/bin/sh
# Ready = the real server accepts TCP connections on 127.0.0.1 (the temporary init server listens
# on the unix socket only). The superuser is named so the probe is not logged as a failed login.
user="${POSTGRES_USER:-}"
if [ -z "$user" ] && [ -n "${POSTGRES_USER_FILE:-}" ] && [ -r "$POSTGRES_USER_FILE" ]; then
    user="$(cat "$POSTGRES_USER_FILE")"
fi
exec pg_isready -q -h 127.0.0.1 -p "${POSTGRES_PORT:-${PGPORT:-5432}}" -U "${user:-postgres}" -d postgres
