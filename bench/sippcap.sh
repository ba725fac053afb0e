#!/usr/bin/env bash
# Makes a SIP load capture with SIPp on loopback, for bench/compare.sh:
#
#   bench/sippcap.sh RATE CALLS OUT.pcap
#
# A SIPp callee (bench/sipp/uas.xml: 200, 486, 404 and 503 at random) and a
# SIPp caller (bench/sipp/uac.xml: short calls, BYE after 300 ms) talk on
# 127.0.0.1 at RATE new calls a second until CALLS calls were made, while
# dumpcap writes the SIP traffic into OUT.pcap. Every process is bounded in
# time and stopped at the end.
set -euo pipefail
cd "$(dirname "$0")"
rate=${1:?rate}
calls=${2:?calls}
out=${3:?output file}
for t in sipp dumpcap; do
	command -v $t >/dev/null || { echo "sippcap: $t is not installed" >&2; exit 2; }
done
uasport=${SIPPCAP_PORT:-15060}
uacport=$((uasport + 1))
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
# The longest the run may take: the calls at the rate, plus a margin.
limit=$((calls / rate + 30))
timeout $((limit + 10)) dumpcap -q -i lo -B 256 -P -f "udp port $uasport" -a duration:$((limit + 5)) -w "$work/cap.pcap" 2>"$work/dumpcap.log" &
pids+=($!)
sleep 1
timeout $((limit + 5)) sipp -sf sipp/uas.xml -i 127.0.0.1 -p "$uasport" -nostdin >/dev/null 2>"$work/uas.log" &
pids+=($!)
sleep 0.5
timeout "$limit" sipp -sf sipp/uac.xml 127.0.0.1:"$uasport" -i 127.0.0.1 -p "$uacport" -s bench \
	-r "$rate" -m "$calls" -l $((rate * 2)) -nostdin -timeout "${limit}s" \
	>/dev/null 2>"$work/uac.log" || true
sleep 2 # the last answers and ACKs
for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
wait 2>/dev/null || true
pids=()
mv "$work/cap.pcap" "$out"
echo "sippcap: $out: $(capinfos -c -M "$out" | awk '/packets/ { print $NF }') packets, $calls calls at $rate/s" >&2
