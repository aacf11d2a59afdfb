#!/usr/bin/env bash
# Kept under the official image's name: tools exec it directly (testcontainers' SSL mode does).
# Executed: the container lifecycle, in the runtime. Sourced (`source docker-entrypoint.sh`, as
# the official docker-ensure-initdb.sh and derived images' scripts do): defines the official
# helper functions below and returns without starting anything. The runtime sources this file
# too, to run /docker-entrypoint-initdb.d, so init scripts see the same functions either way.
set -Eeo pipefail

# True when this file is being sourced: bash puts "source" right below the calling function.
_is_sourced() {
	[ "${#FUNCNAME[@]}" -ge 2 ] && [ "${FUNCNAME[1]}" = 'source' ]
}

if ! _is_sourced; then
	# The resident runtime's V8 flags, chosen when the image was built (see the Dockerfile); none
	# when a derived image removed or emptied the file.
	node_flags=()
	if [ -r /usr/local/lib/postgres-ba/node-flags ]; then
		read -r -a node_flags < /usr/local/lib/postgres-ba/node-flags || true
	fi
	exec node "${node_flags[@]}" /usr/local/lib/postgres-ba/postgres-ba.cjs entrypoint "$@"
fi

# file_env VAR [DEFAULT]: VAR from itself, else from the file named by VAR_FILE (Docker
# secrets), else DEFAULT; exported, and VAR_FILE unset. Both forms at once is an error.
file_env() {
	local name="$1" default="${2:-}"
	local file_name="${name}_FILE"
	local value="${!name:-}" file="${!file_name:-}"
	if [ -n "$value" ] && [ -n "$file" ]; then
		printf >&2 'error: both %s and %s are set, but they are exclusive\n' "$name" "$file_name"
		return 1
	fi
	if [ -z "$value" ] && [ -n "$file" ]; then
		value="$(< "$file")"
	fi
	export "$name"="${value:-$default}"
	unset "$file_name"
}

# The official variables with their defaults, DATABASE_ALREADY_EXISTS (PG_VERSION is present and
# not empty), and PGPORT (POSTGRES_PORT wins, as in the runtime) for psql and pg_ctl.
docker_setup_env() {
	file_env POSTGRES_PASSWORD
	file_env POSTGRES_USER postgres
	file_env POSTGRES_DB "$POSTGRES_USER"
	file_env POSTGRES_INITDB_ARGS
	: "${POSTGRES_HOST_AUTH_METHOD:=}"
	export PGDATA="${PGDATA:-/var/lib/postgresql/18/docker}"
	export PGPORT="${POSTGRES_PORT:-${PGPORT:-5432}}"
	declare -g DATABASE_ALREADY_EXISTS=
	if [ -s "$PGDATA/PG_VERSION" ]; then
		DATABASE_ALREADY_EXISTS=true
	fi
}

# docker_process_sql [psql arguments]: SQL from stdin or -f FILE, as the superuser, into
# POSTGRES_DB (when set), over the unix socket, stopping at the first error.
docker_process_sql() {
	local runner=( psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc )
	if [ -n "${POSTGRES_DB:-}" ]; then
		runner+=( --dbname "$POSTGRES_DB" )
	fi
	PGHOST= PGHOSTADDR= "${runner[@]}" "$@"
}

# docker_process_init_files FILE...: executable *.sh run, other *.sh are sourced into this shell
# (so they can call these functions and the psql array), *.sql and *.sql.{gz,xz,zst} go through
# docker_process_sql, anything else is ignored.
docker_process_init_files() {
	psql=( docker_process_sql )
	printf '\n'
	local f
	for f; do
		case "$f" in
			*.sh)
				if [ -x "$f" ]; then
					printf '%s: running %s\n' "$0" "$f"
					"$f"
				else
					printf '%s: sourcing %s\n' "$0" "$f"
					. "$f"
				fi
				;;
			*.sql)     printf '%s: running %s\n' "$0" "$f"; docker_process_sql -f "$f"; printf '\n' ;;
			*.sql.gz)  printf '%s: running %s\n' "$0" "$f"; gunzip -c "$f" | docker_process_sql; printf '\n' ;;
			*.sql.xz)  printf '%s: running %s\n' "$0" "$f"; xzcat "$f" | docker_process_sql; printf '\n' ;;
			*.sql.zst) printf '%s: running %s\n' "$0" "$f"; zstd -dc "$f" | docker_process_sql; printf '\n' ;;
			*)         printf '%s: ignoring %s\n' "$0" "$f" ;;
		esac
		printf '\n'
	done
}

# CREATE DATABASE POSTGRES_DB unless it exists; the name travels as a psql variable, quoted by psql.
docker_setup_db() {
	local found
	found="$(POSTGRES_DB= docker_process_sql --dbname postgres --tuples-only --set db="$POSTGRES_DB" <<< "SELECT 1 FROM pg_database WHERE datname = :'db';")"
	if [ -z "$found" ]; then
		POSTGRES_DB= docker_process_sql --dbname postgres --set db="$POSTGRES_DB" <<< 'CREATE DATABASE :"db";'
	fi
}

# docker_temp_server_start [postgres] [server arguments]: a server on the unix socket only (no
# TCP), waited for; docker_temp_server_stop stops it (fast).
docker_temp_server_start() {
	if [ "${1:-}" = postgres ]; then
		shift
	fi
	set -- "$@" -c listen_addresses= -p "${PGPORT:-5432}"
	NOTIFY_SOCKET= PGUSER="${PGUSER:-$POSTGRES_USER}" pg_ctl -D "$PGDATA" -o "$(printf '%q ' "$@")" -w start
}

docker_temp_server_stop() {
	PGUSER="${PGUSER:-$POSTGRES_USER}" pg_ctl -D "$PGDATA" -m fast -w stop
}
