#!/bin/bash
# First start: initialise the data directory, set the root password, create the
# optional database and user, run init scripts. Then exec the server.
set -euo pipefail
if [ "${1:-}" = "mariadbd" ] || [ "${1#-}" != "${1:-}" ]; then
  [ "${1:-}" = "mariadbd" ] && shift
  root_pw="${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-}}"
  db="${MARIADB_DATABASE:-${MYSQL_DATABASE:-}}"
  user="${MARIADB_USER:-${MYSQL_USER:-}}"
  user_pw="${MARIADB_PASSWORD:-${MYSQL_PASSWORD:-}}"
  esc() { printf '%s' "$1" | sed "s/\\\\/\\\\\\\\/g; s/'/\\\\'/g"; }
  if [ ! -d /var/lib/mysql/mysql ]; then
    if [ -z "$root_pw" ]; then
      echo "entrypoint: set MARIADB_ROOT_PASSWORD (or MYSQL_ROOT_PASSWORD)" >&2
      exit 1
    fi
    chown -R mysql:mysql /var/lib/mysql
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db >/dev/null
    mariadbd --user=mysql --skip-networking --socket=/run/mysqld/init.sock &
    pid=$!
    for _ in $(seq 60); do
      mariadb-admin --socket=/run/mysqld/init.sock ping >/dev/null 2>&1 && break
      sleep 0.5
    done
    {
      echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '$(esc "$root_pw")';"
      echo "CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY '$(esc "$root_pw")';"
      echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
      if [ -n "$db" ]; then echo "CREATE DATABASE IF NOT EXISTS \`$db\`;"; fi
      if [ -n "$user" ] && [ -n "$user_pw" ]; then
        echo "CREATE USER IF NOT EXISTS '$(esc "$user")'@'%' IDENTIFIED BY '$(esc "$user_pw")';"
        if [ -n "$db" ]; then echo "GRANT ALL ON \`$db\`.* TO '$(esc "$user")'@'%';"; fi
      fi
      echo "FLUSH PRIVILEGES;"
    } | mariadb --socket=/run/mysqld/init.sock -uroot
    for f in /docker-entrypoint-initdb.d/*.sql; do
      [ -e "$f" ] || continue
      mariadb --socket=/run/mysqld/init.sock -uroot -p"$root_pw" ${db:+"$db"} < "$f"
    done
    mariadb-admin --socket=/run/mysqld/init.sock -uroot -p"$root_pw" shutdown
    wait "$pid" || true
  fi
  exec mariadbd --user=mysql --bind-address=0.0.0.0 --port=3306 "$@"
fi
exec "$@"
