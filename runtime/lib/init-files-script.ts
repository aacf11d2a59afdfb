/**
 * The bash side of /docker-entrypoint-initdb.d processing. Kept in bash on purpose: scripts that
 * are sourced (not executable *.sh) expect to run inside the entrypoint's shell with its
 * `docker_process_sql` function and `psql` array, as postgis' init script does. Behaviour matches
 * the official docker-entrypoint.sh: executable *.sh run, other *.sh sourced, *.sql and
 * compressed *.sql.{gz,xz,zst} through psql with ON_ERROR_STOP, anything else ignored.
 */
export const initFilesScript = String.raw`
set -Eeo pipefail
docker_process_sql() {
	local query_runner=( psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc )
	if [ -n "$POSTGRES_DB" ]; then
		query_runner+=( --dbname "$POSTGRES_DB" )
	fi
	PGHOST= PGHOSTADDR= "${"$"}{query_runner[@]}" "$@"
}
psql=( docker_process_sql )
printf '\n'
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
`;
