#!/usr/bin/env bash
# Installs Debian's PostgreSQL 15 server with the wal2json output plugin, for the
# CDC tests that run the stream with `cdc.plugin: wal2json` (test/cdc/wal2json*)
# and for bench/cdc.ts's pg_recvlogical baseline.
# Idempotent: does nothing when the server binaries, wal2json.so and
# pg_recvlogical are present. Needs root (CI runs as root). The test starts its
# own throwaway cluster (initdb in a temp dir); no system cluster is used.
set -euo pipefail
PG_BIN=/usr/lib/postgresql/15/bin
PG_LIB=/usr/lib/postgresql/15/lib
if [ -x "$PG_BIN/postgres" ] && [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_recvlogical" ] && [ -f "$PG_LIB/wal2json.so" ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-postgres-wal2json: PostgreSQL 15 with wal2json is missing and this is not root; run: sudo apt-get install -y postgresql-15 postgresql-15-wal2json postgresql-client-15" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The package's postinst would create and start a system cluster (main); the
# tests never use it, so cluster creation is switched off for this install.
mkdir -p /etc/postgresql-common
if [ ! -e /etc/postgresql-common/createcluster.conf ] || ! grep -q '^create_main_cluster' /etc/postgresql-common/createcluster.conf; then
  echo 'create_main_cluster = false' >>/etc/postgresql-common/createcluster.conf
fi
apt-get install -y -qq --no-install-recommends postgresql-15 postgresql-15-wal2json postgresql-client-15 >/dev/null
test -f "$PG_LIB/wal2json.so"
"$PG_BIN/postgres" --version
