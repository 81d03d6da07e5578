#!/usr/bin/env bash
# Start PostgreSQL, Redis and RabbitMQ on this machine when they are down (tests of the
# scale path use them for real). Each check is quick; each start waits until it answers.
set -u

wait_for() {  # name, check command, seconds
  local name=$1 check=$2 limit=${3:-60} i=0
  until eval "$check" >/dev/null 2>&1; do
    i=$((i + 1))
    if [ "$i" -ge "$limit" ]; then echo "services: $name did not come up" >&2; return 1; fi
    sleep 1
  done
  echo "services: $name is up"
}

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  wait_for PostgreSQL "pg_isready -q -h 127.0.0.1 -p 5432" 60
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then
  echo "services: starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  wait_for Redis "redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG" 30
fi

if ! (echo > /dev/tcp/127.0.0.1/5672) 2>/dev/null; then
  echo "services: starting RabbitMQ"
  rabbitmq-server -detached || true
  wait_for RabbitMQ "(echo > /dev/tcp/127.0.0.1/5672)" 120
fi
exit 0
