#!/usr/bin/env bash
# The real ravel-gui in a real (virtual) X server, as a person would run it: record the dining
# philosophers with `ravel run`, open the trace, jump to the deadlock, export the wait-for graph
# (SVG and PNG), and take a screenshot of the screen with ImageMagick's `import`.
# Usage: smoke_xvfb.sh BIN_DIR ARTIFACT_DIR   (registered with ctest as gui_smoke_xvfb)
set -euo pipefail

bin=${1:?usage: smoke_xvfb.sh BIN_DIR ARTIFACT_DIR}
artifacts=${2:?usage: smoke_xvfb.sh BIN_DIR ARTIFACT_DIR}
bin=$(cd "$bin" && pwd)
mkdir -p "$artifacts"
artifacts=$(cd "$artifacts" && pwd)

# Outside X: start a virtual server around this very script (xvfb-run is installed by scripts/setup).
if [ -z "${RAVEL_SMOKE_IN_XVFB:-}" ]; then
  command -v xvfb-run >/dev/null || { echo "smoke_xvfb: xvfb-run not found (run scripts/setup)" >&2; exit 1; }
  export RAVEL_SMOKE_IN_XVFB=1
  exec xvfb-run -a -s "-screen 0 1600x1000x24" bash "$0" "$bin" "$artifacts"
fi

unset QT_QPA_PLATFORM RAVEL_OPTIONS LD_PRELOAD
export QT_QPA_PLATFORM=xcb
if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -d "$XDG_RUNTIME_DIR" ]; then
  XDG_RUNTIME_DIR=$(mktemp -d)
  export XDG_RUNTIME_DIR
fi
chmod 700 "$XDG_RUNTIME_DIR"
work=$(mktemp -d)
gui_pid=
cleanup() {
  if [ -n "$gui_pid" ]; then kill "$gui_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
# Settings of this run only: no remembered layout of a developer's own session.
export XDG_CONFIG_HOME="$work/config"

fail() { echo "smoke_xvfb: FAIL: $*" >&2; exit 1; }

# 1. A trace of five philosophers who deadlock (ravel run exits 66 for it, as expected).
status=0
"$bin/ravel" run -o "$work/dining.ravel" -- "$bin/examples/dining" 5 >/dev/null 2>"$work/run.err" || status=$?
[ "$status" -eq 66 ] || fail "ravel run dining 5 exited $status, expected 66: $(cat "$work/run.err")"
[ -s "$work/dining.ravel" ] || fail "no trace recorded"

# 2. Jump to finding 1 and export its wait-for graph, then quit.
timeout 120 "$bin/ravel-gui" "$work/dining.ravel" --select-finding 1 \
  --export-graph "$work/deadlock.svg" --quit 2>"$work/gui.err" || fail "ravel-gui exited $?: $(cat "$work/gui.err")"
[ -s "$work/deadlock.svg" ] || fail "no SVG written"
grep -q '<svg' "$work/deadlock.svg" || fail "deadlock.svg is not SVG"
for name in 'forks\[0\]' 'forks\[4\]' 'philosopher-0' 'philosopher-4' 'deadlock'; do
  grep -q "$name" "$work/deadlock.svg" || fail "deadlock.svg does not show $name"
done
cp "$work/deadlock.svg" "$artifacts/smoke-deadlock.svg"

timeout 120 "$bin/ravel-gui" "$work/dining.ravel" --select-finding 1 \
  --export-graph "$work/deadlock.png" --quit 2>"$work/gui.err" || fail "ravel-gui exited $?: $(cat "$work/gui.err")"
[ "$(head -c 8 "$work/deadlock.png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "deadlock.png is not PNG"
identify "$work/deadlock.png" >/dev/null 2>&1 || fail "deadlock.png does not decode"
cp "$work/deadlock.png" "$artifacts/smoke-deadlock.png"

# 3. A finding that does not exist is one clear line and a failing exit status.
status=0
timeout 120 "$bin/ravel-gui" "$work/dining.ravel" --select-finding 9 --quit 2>"$work/gui.err" || status=$?
[ "$status" -ne 0 ] || fail "--select-finding 9 succeeded on a trace with one finding"
grep -q "no finding 9" "$work/gui.err" || fail "no message for finding 9: $(cat "$work/gui.err")"

# 4. The window on screen, on the deadlock: once it has drawn itself (its own screenshot written),
#    the whole screen is captured as a person would see it.
"$bin/ravel-gui" "$work/dining.ravel" --select-finding 1 --screenshot "$work/window.png" 2>"$work/gui.err" &
gui_pid=$!
for _ in $(seq 1 600); do
  [ -s "$work/window.png" ] && break
  kill -0 "$gui_pid" 2>/dev/null || fail "ravel-gui died: $(cat "$work/gui.err")"
  sleep 0.1
done
[ -s "$work/window.png" ] || fail "ravel-gui did not draw its window in 60 s"
sleep 0.5
import -window root "$artifacts/smoke-screen.png" || fail "import could not capture the screen"
cp "$work/window.png" "$artifacts/smoke-window.png"
kill "$gui_pid"
wait "$gui_pid" 2>/dev/null || true
gui_pid=
echo "smoke_xvfb: ok (artifacts in $artifacts)"
