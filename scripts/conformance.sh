#!/usr/bin/env bash
# Runs the official OCI distribution-spec conformance suite, v1.1.1, against a fresh `wharf serve`
# with all four workflows enabled. Fails if any spec fails, or if any spec is skipped other than
# the branches v1.1.1 makes mutually exclusive (listed below). Keeps junit.xml and report.html.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
wharf=${WHARF_BIN:-$root/target/debug/wharf}
out=${CONFORMANCE_OUT:-$root/target/conformance}
tools=${WHARF_TOOLS_DIR:-$HOME/.cache/wharf-tools}
suite=$tools/conformance-v1.1.1/conformance.test

# The conformance module has no tag of its own; v1.1.1 is this pseudo-version of the release
# commit a139cc4. The zip's SHA-256 is pinned (it matches the h1: sum recorded in public go.sum files).
module=github.com/opencontainers/distribution-spec/conformance
version=v0.0.0-20250123160558-a139cc423184
zip_sha256=c5924bf4af67ec20e683cde59cf5e7ed4482669668741da59f2ad93e2c3a88b1

build_suite() {
  local work proxy
  work=$(mktemp -d)
  # The Go module proxy configured on this machine; its index does not list this pseudo-version,
  # so the zip is fetched directly and built in place.
  proxy=$(go env GOPROXY | tr ',|' '\n\n' | grep -v -x -e direct -e off | head -n1)
  [ -n "$proxy" ] || { echo "conformance: no Go module proxy configured (go env GOPROXY)" >&2; exit 1; }
  echo "conformance: building the v1.1.1 suite (one time, cached in $tools)"
  curl -fsS --retry 3 -o "$work/suite.zip" "$proxy/$module/@v/$version.zip"
  echo "$zip_sha256  $work/suite.zip" | sha256sum -c --quiet -
  python3 -m zipfile -e "$work/suite.zip" "$work/src"
  mkdir -p "$(dirname "$suite")"
  (cd "$work/src/$module@$version" && GOFLAGS=-mod=mod go test -c -o "$suite" .)
  rm -rf "$work"
}

[ -x "$suite" ] || build_suite
[ -x "$wharf" ] || { echo "conformance: $wharf not built (cargo build -p wharf-cli)" >&2; exit 1; }

data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$wharf" serve --listen "127.0.0.1:$port" --data-dir "$data/data" --log-level warn 2>"$data/wharf.log" &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT

for _ in $(seq 1 200); do
  curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$data/wharf.log" >&2; exit 1; }
  sleep 0.05
done
curl -fs "http://127.0.0.1:$port/health" >/dev/null || { echo "conformance: wharf did not start" >&2; exit 1; }

rm -rf "$out" && mkdir -p "$out"
set +e
(cd "$out" && \
  OCI_ROOT_URL="http://127.0.0.1:$port" \
  OCI_NAMESPACE=conformance/main \
  OCI_CROSSMOUNT_NAMESPACE=conformance/cross \
  OCI_AUTOMATIC_CROSSMOUNT=1 \
  OCI_TEST_PULL=1 OCI_TEST_PUSH=1 OCI_TEST_CONTENT_DISCOVERY=1 OCI_TEST_CONTENT_MANAGEMENT=1 \
  OCI_HIDE_SKIPPED_WORKFLOWS=0 OCI_REPORT_DIR="$out" \
  timeout 600 "$suite" -ginkgo.no-color > "$out/output.txt" 2>&1)
rc=$?
set -e
tail -n 5 "$out/output.txt"
if grep -q '^\[FAIL\]\|panic' "$out/output.txt" || [ "$rc" -ne 0 ]; then
  cat "$out/output.txt" >&2
  echo "conformance: FAILED (exit $rc); server log:" >&2
  cat "$data/wharf.log" >&2
  exit 1
fi

# Each of these specs runs only when a sibling spec does not (v1.1.1 setup.go / 02_push_test.go):
#  - "Get tag name from environment" and "Populate registry with test tags (no push)": only when the
#    pull / discovery setups are replaced by preloaded content (OCI_TAG_NAME..., OCI_TAG_LIST);
#  - "Cross-mounting of nonexistent blob should yield session id": only when mounting with `from`
#    answered 202, i.e. the registry cannot mount (Wharf mounts: 201, and its follow-up GET runs);
#  - "...automatic content discovery disabled should return a 202": only with OCI_AUTOMATIC_CROSSMOUNT=0.
python3 - "$out/junit.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
allowed = {
    "Get tag name from environment",
    "Populate registry with test tags (no push)",
    "Cross-mounting of nonexistent blob should yield session id",
    "Cross-mounting without from, and automatic content discovery disabled should return a 202",
}
# Spec cases only: the suite also records its HTML reporter as a test case.
cases = [c for c in ET.parse(sys.argv[1]).iter("testcase") if c.get("name", "").startswith("OCI ")]
failed = [c.get("name") for c in cases if c.find("failure") is not None or c.find("error") is not None]
skipped = [c.get("name") for c in cases if c.find("skipped") is not None]
unexpected = [s for s in skipped if not any(s.endswith(a) for a in allowed)]
passed = len(cases) - len(failed) - len(skipped)
print(f"conformance v1.1.1: {passed} passed, {len(failed)} failed, "
      f"{len(skipped)} not applicable (mutually exclusive branches), {len(unexpected)} skipped")
if failed or unexpected or passed == 0:
    for name in failed: print("FAILED:", name)
    for name in unexpected: print("SKIPPED:", name)
    sys.exit(1)
PY
echo "conformance: junit.xml and report.html in $out"
