#!/usr/bin/env bash
# Compares sipcause with tshark and sngrep on the same captures, in one run:
#
#   bench/compare.sh [CALLS] [RATE]      (default 40000 calls at 2000 a second)
#
# Captures (kept in $BENCH_DIR, default /tmp/sipcause-bench, and reused):
#   sipp-1x   a SIPp load run on loopback (bench/sippcap.sh): CALLS short
#             calls at RATE a second (or as fast as SIPp gets on the
#             machine), 200/486/404/503 at random; SIP only.
#   sipp-2x   that run and a second one merged, the second shifted to start
#             at the same moment: twice the call rate over the same time.
#   with-rtp  a synthetic capture of about 100 MiB (bench/gencap -rtp) in
#             which the answered calls carry their RTP, as in a capture from
#             a real phone or PBX, where most packets are not SIP.
# For each it prints wall time, CPU time (user+system) and peak memory
# (max RSS) of
#   sipcause analyze --json, tshark -q -z sip,stat, sngrep -N -q -I
#   (and sipcause messages --json), the ratios, and sipcause's peak memory
# at 1x and 2x the call rate; and sipcause on sipp-1x saved as pcapng (what
# dumpcap and Wireshark write), whose packets it reads another way. sngrep stops keeping dialogs at its default
# limit of 20000 and only matches the later messages to those it kept, so
# on a capture of more it does less than the others: it runs a second
# time with -l raised above the capture's dialogs, doing the whole job.
# The machine's load is printed with them: only the ratios of one run mean
# something on a shared machine, and on a busy one the CPU times more than
# the wall times.
set -euo pipefail
cd "$(dirname "$0")/.."
calls=${1:-40000}
rate=${2:-2000}
dir=${BENCH_DIR:-/tmp/sipcause-bench}
mkdir -p "$dir"
for t in tshark sngrep sipp dumpcap mergecap editcap capinfos; do
	command -v $t >/dev/null || { echo "bench: $t is not installed (tshark, sngrep, sip-tester)" >&2; exit 2; }
done
go build -o "$dir/sipcause" ./cmd/sipcause

# measure CMD... -> sets secs (wall), cpu (user+system seconds) and rss_kb
measure() {
	local out="$dir/time.txt" user sys
	/usr/bin/time -f '%e %U %S %M' -o "$out" "$@" >/dev/null 2>"$dir/stderr.txt" </dev/null || { echo "bench: $* failed:" >&2; cat "$dir/stderr.txt" >&2; exit 1; }
	read -r secs user sys rss_kb <"$out"
	cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a < 0.01) a = 0.01; printf "%.1f", b / a }'; }
first_time() { capinfos -a -T -r -S "$1" | awk -F'\t' '{ print $2 }'; }

one="$dir/sipp-1x.pcap" two="$dir/sipp-2x.pcap" rtp="$dir/with-rtp.pcap"
if [ ! -s "$one" ] || [ ! -s "$two" ]; then
	bench/sippcap.sh "$rate" "$calls" "$dir/run-a.pcap"
	SIPPCAP_PORT=15160 bench/sippcap.sh "$rate" "$calls" "$dir/run-b.pcap"
	shift=$(awk -v a="$(first_time "$dir/run-a.pcap")" -v b="$(first_time "$dir/run-b.pcap")" 'BEGIN { printf "%.6f", a - b }')
	editcap -t "$shift" "$dir/run-b.pcap" "$dir/run-b-shifted.pcap"
	mergecap -F pcap -w "$two" "$dir/run-a.pcap" "$dir/run-b-shifted.pcap"
	mv "$dir/run-a.pcap" "$one"
	rm -f "$dir/run-b.pcap" "$dir/run-b-shifted.pcap"
fi
[ -s "$rtp" ] || go run ./bench/gencap -mb 100 -rtp -o "$rtp"

run() { # run NAME FILE
	local name=$1 f=$2
	cat "$f" >/dev/null # every tool reads from the page cache
	local info
	info=$(capinfos -c -u -M "$f" | awk -F': *' '/packets/ { p = $2 } /duration/ { d = $2 } END { printf "%s packets in %.0f s", p, d }')
	echo
	printf '%-52s %8s %8s %10s\n' "$name: $info" "seconds" "CPU s" "peak MiB"
	measure "$dir/sipcause" analyze --json "$f"; local s_an=$secs c_an=$cpu m_an=$rss_kb
	printf '  %-50s %8s %8s %10d\n' "sipcause analyze --json" "$secs" "$cpu" $((rss_kb / 1024))
	measure "$dir/sipcause" messages --json "$f"
	printf '  %-50s %8s %8s %10d\n' "sipcause messages --json" "$secs" "$cpu" $((rss_kb / 1024))
	measure sngrep -N -q -I "$f"; local g_an=$secs gc_an=$cpu gm_an=$rss_kb
	printf '  %-50s %8s %8s %10d\n' "sngrep -N -q -I" "$secs" "$cpu" $((rss_kb / 1024))
	measure sngrep -N -q -l 100000000 -I "$f"; local gf_an=$secs gfc_an=$cpu
	printf '  %-50s %8s %8s %10d\n' "sngrep -N -q -l 100000000 -I (every dialog)" "$secs" "$cpu" $((rss_kb / 1024))
	measure tshark -r "$f" -q -z sip,stat; local t_an=$secs tc_an=$cpu tm_an=$rss_kb
	printf '  %-50s %8s %8s %10d\n' "tshark -q -z sip,stat" "$secs" "$cpu" $((rss_kb / 1024))
	echo "  analyze: sipcause $(ratio "$s_an" "$t_an")x faster than tshark, $(ratio "$s_an" "$g_an")x faster than sngrep (wall);" \
		"$(ratio "$c_an" "$tc_an")x and $(ratio "$c_an" "$gc_an")x in CPU time;" \
		"peak memory $((m_an / 1024)) vs $((tm_an / 1024)) and $((gm_an / 1024)) MiB"
	echo "  analyze: $(ratio "$s_an" "$gf_an")x faster than sngrep keeping every dialog (wall), $(ratio "$c_an" "$gfc_an")x in CPU time"
	last_peak=$((m_an / 1024))
}

echo "load: $(uptime)"
run sipp-1x "$one"; peak1=$last_peak
ng="$dir/sipp-1x.pcapng"
[ -s "$ng" ] || editcap -F pcapng "$one" "$ng"
cat "$ng" >/dev/null
measure "$dir/sipcause" analyze --json "$ng"
printf '  %-50s %8s %8s %10d\n' "sipcause analyze --json, the same as pcapng" "$secs" "$cpu" $((rss_kb / 1024))
run sipp-2x "$two"; peak2=$last_peak
run with-rtp "$rtp"
echo
echo "memory: sipcause analyze peaks at $peak1 MiB at 1x the call rate and $peak2 MiB at 2x"
echo "load: $(uptime)"
