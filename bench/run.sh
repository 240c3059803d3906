#!/usr/bin/env bash
# The benchmark, one command: builds Wharf in release mode, installs the peers on this machine
# (CNCF distribution 2.8 from Debian's docker-registry package, distribution v3 with go install),
# runs the same workload against each on 127.0.0.1, alternating them over several rounds, and
# writes bench/results/results.{json,md}. Extra arguments go to wharf-bench (e.g. --rounds 5).
#
# zot and its load tool zb are not run: the Go module proxy this machine may use refuses the
# module host zotregistry.dev ("module-host allowlist"), so they cannot be installed here.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=${WHARF_TOOLS_DIR:-$HOME/.cache/wharf-tools}
mkdir -p "$tools"

cargo build --release --locked -p wharf-cli -p wharf-bench

peers=()
if ! command -v docker-registry >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry >/dev/null || apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry >/dev/null
  fi
fi
# The Debian package starts a system service on :5000; the bench runs its own instances.
systemctl stop docker-registry 2>/dev/null || true
if command -v docker-registry >/dev/null; then
  peers+=(--distribution-2-8 "$(command -v docker-registry)")
fi
if [ ! -x "$tools/bin/registry" ]; then
  GOBIN="$tools/bin" go install github.com/distribution/distribution/v3/cmd/registry@v3.0.0 || true
fi
if [ -x "$tools/bin/registry" ]; then
  peers+=(--distribution-v3 "$tools/bin/registry")
fi

./target/release/wharf-bench --wharf target/release/wharf "${peers[@]}" --out bench/results "$@"
