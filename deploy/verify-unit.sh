#!/usr/bin/env bash
# Checks a systemd unit file with `systemd-analyze verify` and fails on any problem systemd
# reports about the file itself: an unknown or misplaced setting (which systemd only warns
# about, and then ignores), a bad value, a missing executable.
#
#   deploy/verify-unit.sh BINARY [UNIT]
#
# UNIT defaults to deploy/mami-api.service. Its ExecStart names /usr/local/bin/mami-api, which
# a build machine does not have: a copy whose ExecStart runs BINARY (the freshly built
# mami-api) is verified instead. The `mami` user and /etc/mami need not exist.
# Exit status: 0 clean, 1 problems found, 2 usage; without systemd-analyze it says so and exits 0.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${1:-}"
unit="${2:-$root/deploy/mami-api.service}"
if [ -z "$bin" ] || [ ! -x "$bin" ] || [ ! -f "$unit" ]; then
  echo "usage: deploy/verify-unit.sh BINARY [UNIT] (BINARY must be executable)" >&2
  exit 2
fi
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "verify-unit: systemd-analyze is not installed; $unit not verified"
  exit 0
fi

dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
name="$(basename "$unit")"
copy="$dir/$name"
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
sed -E "s#^ExecStart=/usr/local/bin/mami-api#ExecStart=$bin#" "$unit" >"$copy"

set +e
out="$(systemd-analyze verify --man=no "$copy" 2>&1)"
status=$?
set -e
# systemd names the file (path:line: …) or the unit (name: …) in what concerns this unit.
problems="$(grep -E "^($copy|$name)" <<<"$out" | sed "s#$copy#$unit#" || true)"
if [ "$status" -ne 0 ] || [ -n "$problems" ]; then
  echo "verify-unit: $unit has problems:" >&2
  if [ -n "$problems" ]; then echo "$problems" >&2; else echo "$out" >&2; fi
  exit 1
fi
echo "verify-unit: $unit ok"
