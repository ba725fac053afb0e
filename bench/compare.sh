#!/usr/bin/env bash
# Compares sipcause with tshark on the same large synthetic captures, in one
# run, and checks that sipcause's memory does not grow with the file.
#
#   bench/compare.sh [MiB]        (default 100)
#
# Two captures of the given size are made by bench/gencap: one of SIP only
# (calls and registrations, as a SIPp load run makes), and one where the
# answered calls carry their RTP media, as in a capture from a real phone
# or PBX, where most packets are not SIP. For each it prints wall time and
# peak memory (max RSS) of
#   sipcause messages --json  vs  tshark -Y sip -T fields (frame, method, status, Call-ID)
#   sipcause analyze --json   vs  tshark -q -z sip,stat
# and the ratios, plus sipcause's peak memory on a capture a quarter the size.
set -euo pipefail
cd "$(dirname "$0")/.."
mb=${1:-100}
dir=${BENCH_DIR:-/tmp/sipcause-bench}
mkdir -p "$dir"
command -v tshark >/dev/null || { echo "bench: tshark is not installed (apt-get install -y tshark)" >&2; exit 2; }
go build -o "$dir/sipcause" ./cmd/sipcause

# measure CMD... -> sets secs and rss_kb
measure() {
	local out="$dir/time.txt"
	/usr/bin/time -f '%e %M' -o "$out" "$@" >/dev/null 2>"$dir/stderr.txt" || { echo "bench: $* failed:" >&2; cat "$dir/stderr.txt" >&2; exit 1; }
	read -r secs rss_kb <"$out"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a < 0.01) a = 0.01; printf "%.1f", b / a }'; }

run() { # run NAME GENCAP-FLAGS
	local name=$1 flags=$2
	local big="$dir/$name-${mb}mb.pcap" small="$dir/$name-$((mb / 4))mb.pcap"
	[ -s "$big" ] || go run ./bench/gencap -mb "$mb" $flags -o "$big"
	[ -s "$small" ] || go run ./bench/gencap -mb $((mb / 4)) $flags -o "$small"
	cat "$big" "$small" >/dev/null # both tools read from the page cache
	echo
	printf '%-46s %8s %10s\n' "$name capture, $(du -m "$big" | cut -f1) MiB" "seconds" "peak MiB"
	measure "$dir/sipcause" messages --json "$big"; local s_msg=$secs m_msg=$rss_kb
	printf '  %-44s %8s %10d\n' "sipcause messages --json" "$secs" $((rss_kb / 1024))
	measure tshark -r "$big" -Y sip -T fields -e frame.number -e sip.Method -e sip.Status-Code -e sip.Call-ID; local t_msg=$secs tm_msg=$rss_kb
	printf '  %-44s %8s %10d\n' "tshark -Y sip -T fields" "$secs" $((rss_kb / 1024))
	measure "$dir/sipcause" analyze --json "$big"; local s_an=$secs m_an=$rss_kb
	printf '  %-44s %8s %10d\n' "sipcause analyze --json" "$secs" $((rss_kb / 1024))
	measure tshark -r "$big" -q -z sip,stat; local t_an=$secs tm_an=$rss_kb
	printf '  %-44s %8s %10d\n' "tshark -q -z sip,stat" "$secs" $((rss_kb / 1024))
	measure "$dir/sipcause" analyze --json "$small"; local m_small=$rss_kb
	printf '  %-44s %8s %10d\n' "sipcause analyze --json (1/4 size)" "$secs" $((rss_kb / 1024))
	echo "  messages: sipcause $(ratio "$s_msg" "$t_msg")x faster than tshark; peak memory $((m_msg / 1024)) vs $((tm_msg / 1024)) MiB"
	echo "  analyze:  sipcause $(ratio "$s_an" "$t_an")x faster than tshark; peak memory $((m_an / 1024)) vs $((tm_an / 1024)) MiB"
	echo "  memory:   sipcause analyze peaks at $((m_small / 1024)) MiB on 1/4 of the size, $((m_an / 1024)) MiB on all of it"
}

run sip-only ""
run with-rtp "-rtp"
