#!/usr/bin/env bash
# The whole test suite: formatting, lints, the OCI conformance suite, real clients (skopeo, oras)
# against a running `wharf serve`, then unit, in-process router and end-to-end crash tests.
# Ends with one line totalling every runner: "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo build"
cargo build --workspace --locked
echo "== OCI conformance suite v1.1.1"
bash scripts/conformance.sh | tee -a "$log"
echo "== end-to-end tests with real clients (skopeo, oras)"
python3 -m pytest -q -p no:cacheprovider tests/e2e | tee -a "$log"
echo "== benchmark smoke run (harness only: small sizes, one round, debug build)"
cargo run -q --locked -p wharf-bench -- --smoke --wharf target/debug/wharf --out target/bench-smoke > /dev/null
test -s target/bench-smoke/results.json
echo "== cargo test"
cargo test --workspace --locked 2>&1 | tee -a "$log"

python3 - "$log" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
passed = failed = 0
for p, f in re.findall(r"^test result: \w+\. (\d+) passed; (\d+) failed", text, re.M):
    passed += int(p); failed += int(f)
m = re.search(r"^conformance v1\.1\.1: (\d+) passed, (\d+) failed", text, re.M)
passed += int(m.group(1)); failed += int(m.group(2))
m = re.search(r"^(?:(\d+) failed, )?(\d+) passed", text, re.M)
passed += int(m.group(2)); failed += int(m.group(1) or 0)
print(f"wharf: {passed} passed, {failed} failed")
sys.exit(1 if failed or passed == 0 else 0)
PY
