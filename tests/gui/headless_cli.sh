#!/usr/bin/env bash
# ravel-gui where there is no display at all (no DISPLAY, WAYLAND_DISPLAY or QT_QPA_PLATFORM), as
# on a CI machine or over ssh: --help and --version work, a scripted export that ends in --quit
# writes its file and exits 0, and an interactive start says why it cannot in one line, exit 1.
# Usage: headless_cli.sh BIN_DIR EXAMPLES_DIR
set -euo pipefail
bin=${1:?usage: headless_cli.sh BIN_DIR EXAMPLES_DIR}
examples=${2:?usage: headless_cli.sh BIN_DIR EXAMPLES_DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bare() { env -u DISPLAY -u WAYLAND_DISPLAY -u QT_QPA_PLATFORM -u XDG_RUNTIME_DIR "$@"; }
fail() { echo "headless_cli: $*" >&2; exit 1; }

out=$(bare timeout 30 "$bin/ravel-gui" --help 2>"$work/err") || fail "--help exited $?: $(cat "$work/err")"
grep -q -- "--export-graph" <<<"$out" || fail "--help does not list --export-graph: $out"
[ ! -s "$work/err" ] || fail "--help wrote to stderr: $(cat "$work/err")"

out=$(bare timeout 30 "$bin/ravel-gui" --version 2>&1) || fail "--version exited $?: $out"
grep -Eq '^ravel-gui [0-9]+\.[0-9]+' <<<"$out" || fail "--version printed: $out"

status=0
"$bin/ravel" run -q -o "$work/abba.ravel" -- "$examples/abba" >/dev/null 2>&1 || status=$?
[ "$status" -eq 66 ] || fail "recording the ABBA deadlock exited $status, not 66"
status=0
bare timeout 60 "$bin/ravel-gui" "$work/abba.ravel" --select-finding 1 --export-graph "$work/abba.svg" --quit \
  2>"$work/err" || status=$?
[ "$status" -eq 0 ] || fail "scripted export exited $status: $(cat "$work/err")"
grep -q "<svg" "$work/abba.svg" || fail "the exported graph is not an SVG"
grep -q "account_a" "$work/abba.svg" || fail "the exported graph does not name account_a"
[ ! -s "$work/err" ] || fail "the scripted export wrote to stderr: $(cat "$work/err")"

# Through `ravel gui` too, and the timeline at a chosen size.
status=0
bare timeout 60 "$bin/ravel" gui "$work/abba.ravel" --select-finding 1 --export-timeline "$work/abba-timeline.png" \
  --timeline-size 900x300 --quit 2>"$work/err" || status=$?
[ "$status" -eq 0 ] || fail "ravel gui's scripted export exited $status: $(cat "$work/err")"
[ "$(head -c 8 "$work/abba-timeline.png" | od -An -c | tr -d ' ')" = '211PNG\r\n032\n' ] || fail "the timeline is not a PNG"
size=$(python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); print("%dx%d" % struct.unpack(">II", d[16:24]))' "$work/abba-timeline.png")
[ "$size" = "900x300" ] || fail "the timeline picture is $size, not the 900x300 asked for"
status=0
bare timeout 60 "$bin/ravel-gui" "$work/abba.ravel" --export-timeline "$work/x.png" --timeline-size 12 --quit \
  2>"$work/err" || status=$?
[ "$status" -eq 2 ] || fail "a bad --timeline-size exited $status, not 2"
[ "$(wc -l <"$work/err")" -eq 1 ] || fail "a bad --timeline-size said: $(cat "$work/err")"
status=0
bare timeout 60 "$bin/ravel-gui" "$work/abba.ravel" --select-finding 9 --export-graph "$work/none.svg" --quit \
  2>"$work/err" || status=$?
[ "$status" -eq 1 ] || fail "a missing finding exited $status, not 1"
[ "$(wc -l <"$work/err")" -eq 1 ] || fail "a missing finding said: $(cat "$work/err")"

status=0
bare timeout 30 "$bin/ravel" gui "$work/abba.ravel" 2>"$work/err" || status=$?
[ "$status" -eq 1 ] || fail "ravel gui without a display exited $status, not 1"
[ "$(wc -l <"$work/err")" -eq 1 ] || fail "ravel gui without a display said: $(cat "$work/err")"
grep -q "no display" "$work/err" || fail "ravel gui: no 'no display' in: $(cat "$work/err")"

status=0
bare timeout 30 "$bin/ravel-gui" "$work/abba.ravel" 2>"$work/err" || status=$?
[ "$status" -eq 1 ] || fail "an interactive start without a display exited $status, not 1"
[ "$(wc -l <"$work/err")" -eq 1 ] || fail "an interactive start without a display said: $(cat "$work/err")"
grep -q "no display" "$work/err" || fail "no 'no display' in: $(cat "$work/err")"
echo "headless_cli: ok"
