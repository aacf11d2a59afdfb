#!/bin/sh
# Ready = the runtime has declared the server ready (it accepts connections and, after a
# restore, has been promoted: a restored primary accepts read-only connections while it replays
# WAL, but it is not ready until it is writable), and the real server answers on TCP 127.0.0.1
# (the temporary init server listens on the unix socket only). The superuser is named so the
# probe is not logged as a failed login.
[ -f /var/run/postgresql/.postgres-ba-ready ] || exit 1
user="${POSTGRES_USER:-}"
if [ -z "$user" ] && [ -n "${POSTGRES_USER_FILE:-}" ] && [ -r "$POSTGRES_USER_FILE" ]; then
    user="$(cat "$POSTGRES_USER_FILE")"
fi
exec pg_isready -q -h 127.0.0.1 -p "${POSTGRES_PORT:-${PGPORT:-5432}}" -U "${user:-postgres}" -d postgres
