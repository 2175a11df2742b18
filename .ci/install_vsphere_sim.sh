#!/bin/sh
# Build dependencies of the vCenter simulator the vSphere tests start
# (tests/vsphere/vcsim): the Go toolchain and govmomi's sources.
set -eu

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

$SUDO apt-get update
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    golang-go golang-github-vmware-govmomi-dev
