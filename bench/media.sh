#!/usr/bin/env bash
# Compares sipcause's media analysis with tshark's RTP stream statistics on
# the same synthetic capture with RTP (bench/gencap -rtp: answered calls
# carry G.711 both ways, most packets are RTP), in one run:
#
#   bench/media.sh [MiB]        (default 100; RUNS=9 runs of each tool)
#
#   sipcause analyze --json (RTP streams attached to calls, per-call audio
#   verdict)  vs  tshark -q -z rtp,streams
#
# The two tools take turns, RUNS times, and the medians are compared: on a
# shared machine one run of each says more about the load of the moment
# than about the tools. Wall time is measured to the millisecond (bash's
# EPOCHREALTIME; /usr/bin/time rounds to 10 ms, a tenth of sipcause's run).
# Then sipcause's peak memory on a capture a quarter the size, to show that
# it stays flat (a fixed state per stream, no packet kept).
set -euo pipefail
cd "$(dirname "$0")/.."
mb=${1:-100}
dir=${BENCH_DIR:-/tmp/sipcause-bench-media}
mkdir -p "$dir"
command -v tshark >/dev/null || { echo "bench: tshark is not installed (apt-get install -y tshark)" >&2; exit 2; }
go build -o "$dir/sipcause" ./cmd/sipcause

runs=${RUNS:-9}

measure() { # measure CMD... -> sets secs (wall), cpu (user+sys) and rss_kb
	local out="$dir/time.txt" e u s t0 t1
	t0=$EPOCHREALTIME
	/usr/bin/time -f '%e %U %S %M' -o "$out" "$@" >"$dir/out.txt" 2>"$dir/stderr.txt" || { echo "bench: $* failed:" >&2; cat "$dir/stderr.txt" >&2; exit 1; }
	t1=$EPOCHREALTIME
	read -r e u s rss_kb <"$out"
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	cpu=$(awk -v a="$u" -v b="$s" 'BEGIN { printf "%.2f", a + b }')
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a < 0.001) a = 0.001; printf "%.1f", b / a }'; }

big="$dir/with-rtp-${mb}mb.pcap" small="$dir/with-rtp-$((mb / 4))mb.pcap"
[ -s "$big" ] || go run ./bench/gencap -mb "$mb" -rtp -o "$big"
[ -s "$small" ] || go run ./bench/gencap -mb $((mb / 4)) -rtp -o "$small"
cat "$big" "$small" >/dev/null # both tools read from the page cache

printf '%-46s %8s %8s %10s %8s\n' "capture with RTP, $(du -m "$big" | cut -f1) MiB, median of $runs" "seconds" "cpu s" "peak MiB" "streams"
S=() SC=() M=() T=() TC=() TM=()
for ((i = 0; i < runs; i++)); do
	measure "$dir/sipcause" analyze --json "$big"; S+=("$secs") SC+=("$cpu") M+=("$rss_kb")
	n=$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)["media"]))' <"$dir/out.txt" 2>/dev/null || echo "?")
	measure tshark -r "$big" -q -z rtp,streams; T+=("$secs") TC+=("$cpu") TM+=("$rss_kb")
	tn=$(grep -cE '^ +[0-9]+\.[0-9]+ ' "$dir/out.txt" || true)
done
s=$(median "${S[@]}") sc=$(median "${SC[@]}") m=$(median "${M[@]}")
t=$(median "${T[@]}") tc=$(median "${TC[@]}") tm=$(median "${TM[@]}")
printf '  %-44s %8s %8s %10d %8s\n' "sipcause analyze --json (media on)" "$s" "$sc" $((m / 1024)) "$n"
printf '  %-44s %8s %8s %10d %8s\n' "tshark -q -z rtp,streams" "$t" "$tc" $((tm / 1024)) "$tn"
echo "  sipcause runs (s): ${S[*]}"
echo "  tshark runs (s):   ${T[*]}"
measure "$dir/sipcause" analyze --json "$small"; ms=$rss_kb
printf '  %-44s %8s %8s %10d\n' "sipcause analyze --json (1/4 size)" "$secs" "$cpu" $((rss_kb / 1024))
echo "  media: sipcause $(ratio "$s" "$t")x faster than tshark in wall time, $(ratio "$sc" "$tc")x in CPU time; peak memory $((m / 1024)) vs $((tm / 1024)) MiB"
echo "  memory: sipcause peaks at $((ms / 1024)) MiB on 1/4 of the size, $((m / 1024)) MiB on all of it"
