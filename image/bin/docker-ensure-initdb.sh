#!/bin/sh
# The official image's init-container scripts, under their names. docker-ensure-initdb.sh
# initializes an empty PGDATA exactly as the entrypoint's first start would (initdb, TLS files,
# POSTGRES_DB, /docker-entrypoint-initdb.d) and exits without a server left running; on an
# initialized PGDATA it does nothing. docker-enforce-initdb.sh (a link to this file) refuses an
# initialized PGDATA instead. Arguments are postgres server arguments, as for the entrypoint.
case "$(basename "$0")" in
    docker-enforce-initdb.sh) mode=enforce-initdb ;;
    *) mode=ensure-initdb ;;
esac
exec node /usr/local/lib/postgres-ba/postgres-ba.cjs "$mode" "$@"
