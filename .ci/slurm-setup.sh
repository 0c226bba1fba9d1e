#!/usr/bin/env bash
# Debian packages for the single-node SLURM cluster the SLURM tests start (idempotent).
set -euo pipefail
if command -v slurmctld >/dev/null && command -v munged >/dev/null; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq slurm-wlm munge >/dev/null
