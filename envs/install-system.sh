#!/usr/bin/env bash
# Installs the Debian packages the tests need besides the Python environment (envs/install.sh):
#   chromium                  the browser test of the report (tests/test_report.py)
#   slurm-wlm slurmdbd munge  the single-node SLURM cluster of tests/test_slurm.py (tests/cluster/slurm.sh)
#   mariadb-server            SLURM's accounting database: the Snakemake executor asks `sacct` for job states
# Idempotent and fast when everything is there (dpkg-query only, no apt-get update). Without apt or
# root it installs nothing: it prints one line per missing package and goes on, and the tests that
# need that package fail with the same advice.
#
# No service is started: the packages' install scripts would start system-wide munge, mariadb and
# slurm daemons; the test cluster runs its own, on loopback, from its own folder.
set -uo pipefail

PACKAGES=(chromium slurm-wlm slurmdbd munge mariadb-server)

installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for pkg in "${PACKAGES[@]}"; do installed "$pkg" || missing+=("$pkg"); done
else
  missing=("${PACKAGES[@]}")
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
  why=$([ "$(id -u)" != 0 ] && echo "not root" || echo "no apt-get")
  for pkg in "${missing[@]}"; do
    echo "install-system: $pkg is missing ($why): install it, e.g. \`sudo apt-get install $pkg\`; the tests that need it will fail" >&2
  done
  exit 0
fi

# Keep the packages' maintainer scripts from starting daemons (Debian's policy-rc.d protocol:
# exit 101 = action forbidden). Only a policy file that this script created is removed again.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy"
  trap 'rm -f "$policy"' EXIT
fi

echo "install-system: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt_install() { apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/install-system.log 2>&1; }
# Try the package lists already there first; update them only when that fails.
if ! apt_install && ! { apt-get update -qq >>/tmp/install-system.log 2>&1 && apt_install; }; then
  tail -n 5 /tmp/install-system.log >&2
fi
for pkg in "${missing[@]}"; do
  installed "$pkg" || echo "install-system: $pkg could not be installed (log: /tmp/install-system.log); the tests that need it will fail" >&2
done
exit 0
