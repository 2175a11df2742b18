#!/bin/sh
# OpenLDAP server and client tools for the LDAP tests of tests/api (they start their own slapd).
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends slapd ldap-utils
