#!/usr/bin/env bash
# Install what the SLURM tests (tests/test_slurm.py) need: Debian's slurm-wlm and munge.
# Idempotent and quiet; needs root (or sudo) and apt. The tests start and stop the daemons
# themselves (tests/slurm/minicluster.py); nothing is started here.
set -euo pipefail

need=()
command -v slurmctld >/dev/null 2>&1 || [ -x /usr/sbin/slurmctld ] || need+=(slurm-wlm)
command -v munged >/dev/null 2>&1 || [ -x /usr/sbin/munged ] || need+=(munge)
if [ ${#need[@]} -eq 0 ]; then
    echo "slurm-setup: slurm-wlm and munge already installed"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "slurm-setup: need root or sudo to install ${need[*]}" >&2; exit 1; }
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
echo "slurm-setup: installing ${need[*]}"
$SUDO apt-get update -qq >/dev/null
# Installing the packages must not start daemons (there may be no init system); the tests do that.
$SUDO apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
echo "slurm-setup: $(sbatch --version) installed"
