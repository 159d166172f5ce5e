#!/bin/sh
set -eu
if [ "${1#-}" != "$1" ]; then set -- redis-server "$@"; fi
if [ "$1" = "redis-server" ]; then
  shift
  [ "$(stat -c %U /data)" = redis ] || chown -R redis:redis /data
  exec setpriv --reuid=redis --regid=redis --init-groups \
    redis-server --bind 0.0.0.0 --protected-mode no --dir /data --daemonize no "$@"
fi
exec "$@"
