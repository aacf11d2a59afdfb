/**
 * The bash side of /docker-entrypoint-initdb.d processing. Kept in bash on purpose: scripts that
 * are sourced (not executable *.sh) expect to run inside the entrypoint's shell with its
 * `docker_process_sql` function and `psql` array, as postgis' init script does. The functions
 * live in one place, the image's docker-entrypoint.sh, which defines them and returns when it is
 * sourced (as the official one does); this script sources it and processes the files given as
 * arguments. $0 is the entrypoint's path, so the log reads as upstream's ("...: running ...").
 */
export const entrypointScript = "/usr/local/bin/docker-entrypoint.sh";

export const initFilesScript = `
set -Eeo pipefail
source "$0"
docker_process_init_files "$@"
`;
