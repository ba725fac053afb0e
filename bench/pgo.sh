#!/usr/bin/env bash
# Makes cmd/sipcause/default.pgo, the CPU profile `go build` uses to
# optimise the sipcause binary (profile-guided optimisation: hot calls are
# inlined, interface calls made direct):
#
#   bench/pgo.sh
#
# It profiles sipcause analyze --json on the two captures of
# bench/compare.sh (the SIPp load run, SIP only, and the synthetic capture
# with RTP; made first when missing) and merges the profiles: two runs of
# the first and fifteen of the second, which is that much quicker, so that
# both weigh about the same. Run it again after large changes to the hot paths; a profile
# that has grown stale still builds, it only helps less.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${BENCH_DIR:-/tmp/sipcause-bench}
if [ ! -f "$dir/sipp-1x.pcap" ] || [ ! -f "$dir/with-rtp.pcap" ]; then
	echo "pgo: making the captures with bench/compare.sh first" >&2
	bash bench/compare.sh >/dev/null
fi
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -pgo=off -o "$bin/sipcause" ./cmd/sipcause
profiles=()
for run in sipp-1x:2 with-rtp:15; do
	cap=${run%:*}
	for i in $(seq "${run#*:}"); do
		"$bin/sipcause" analyze --json --cpuprofile "$bin/$cap-$i.prof" "$dir/$cap.pcap" >/dev/null
		profiles+=("$bin/$cap-$i.prof")
	done
done
go tool pprof -proto "${profiles[@]}" > cmd/sipcause/default.pgo
echo "pgo: wrote cmd/sipcause/default.pgo ($(wc -c < cmd/sipcause/default.pgo) bytes) from ${#profiles[@]} profiles"
