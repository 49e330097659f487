#!/usr/bin/env bash
# Make sure a Docker engine answers: install docker.io if needed, start dockerd if nothing
# answers (this kind of machine has no init system running it), wait until it is ready.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/ensure-debian-packages.sh" dockerd=docker.io docker=docker.io
docker info >/dev/null 2>&1 && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "error: no Docker engine answers and only root can start one here" >&2
  echo "  fix: sudo dockerd --storage-driver=overlay2 --iptables=false &  (or systemctl start docker)" >&2
  exit 1
fi
log=${DOCKERD_LOG:-/var/log/pyodist-dockerd.log}
echo "starting dockerd (log: $log)" >&2
# overlay2 shares image layers between containers; --iptables=false because this machine
# has no network for containers to reach anyway (builds run with --network none).
nohup dockerd --storage-driver=overlay2 --iptables=false >"$log" 2>&1 &
for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 1
done
echo "error: dockerd did not become ready within 60 s; see $log" >&2
tail -20 "$log" >&2
exit 1
