#!/bin/sh
# Run "$@" the way the image runs a worker (deploy/compose/Dockerfile, deploy/k8s/stream-statefulSet.yaml): as uid
# 10001 with no supplementary groups, on a read-only root filesystem where $STATE is the only writable path, from a
# read-only working directory, with no usable HOME. Needs root (a private mount namespace: `unshare -m`).
# The interpreter may live under /root (pyenv): /root is replaced by a tmpfs that shows only .pyenv, read-only.
set -e
mount --make-rprivate /
if [ -d /root/.pyenv ]; then
  keep=$(mktemp -d)
  mount --bind /root/.pyenv "$keep"
  mount -t tmpfs -o mode=755 tmpfs /root
  mkdir /root/.pyenv
  mount --bind "$keep" /root/.pyenv
fi
mount --bind "$STATE" "$STATE"
mount -o remount,bind,ro /
cd /
exec setpriv --reuid 10001 --regid 10001 --clear-groups env HOME=/nonexistent "$@"
