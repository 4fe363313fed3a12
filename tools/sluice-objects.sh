#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Lists every pinned program, map and link of sluice, per chain and
# generation, with bpftool: the view from the kernel, independent of
# sluice's own state files.
#
#   tools/sluice-objects.sh [-j] [PIN_ROOT]     (default /sys/fs/bpf/sluice)
#
# Layout read (docs/operations.md):
#   PIN_ROOT/<chain>/{entry, sl_root, sl_meta_scratch, sl_drops, fw_counters,
#                     link_<ifname>_<hook>}          shared by all generations
#   PIN_ROOT/<chain>/gen/<N>/{stage_<i>, sl_chain, sl_gen_stats, <fn>_<map>}
# GEN is "-" for the shared objects; "live" marks the generation whose first
# stage sits in sl_root, i.e. the one judging packets now.
# -j prints a JSON array instead of the table.
set -eu

PATH="$PATH:/usr/sbin:/sbin"
JSON=0

usage() {
	echo "usage: $0 [-j] [PIN_ROOT]" >&2
	exit 2
}

while getopts jh opt; do
	case $opt in
	j) JSON=1 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -le 1 ] || usage
ROOT=${1:-/sys/fs/bpf/sluice}
ROOT=${ROOT%/}

for t in bpftool jq; do
	command -v "$t" >/dev/null 2>&1 ||
		{ echo "sluice-objects: '$t' is missing: run 'sudo make deps'" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "sluice-objects: bpftool needs root: run it with sudo" >&2; exit 1; }
if [ ! -d "$ROOT" ]; then
	if [ "$JSON" = 1 ]; then echo '[]'; else echo "no sluice pins under $ROOT"; fi
	exit 0
fi

# One JSON object per pinned object, one a line.
describe() { # PIN CHAIN GEN LIVE_PROG_ID
	pin=$1 chain=$2 gen=$3 live=$4
	if j=$(bpftool -j prog show pinned "$pin" 2>/dev/null); then
		printf '%s\n' "$j" | jq -c --arg pin "$pin" --arg chain "$chain" --arg gen "$gen" --arg live "$live" '
			{chain: $chain, generation: $gen, kind: "prog", id, type, name, pin: $pin,
			 live: ((.id | tostring) == $live),
			 detail: ("tag \(.tag) xlated \(.bytes_xlated)B" +
				  (if .jited then " jited \(.bytes_jited)B" else "" end))}'
	elif j=$(bpftool -j map show pinned "$pin" 2>/dev/null); then
		printf '%s\n' "$j" | jq -c --arg pin "$pin" --arg chain "$chain" --arg gen "$gen" '
			{chain: $chain, generation: $gen, kind: "map", id, type, name, pin: $pin,
			 live: false,
			 detail: ("key \(.bytes_key)B value \(.bytes_value)B max \(.max_entries)" +
				  (if (.frozen // 0) == 1 then " frozen" else "" end))}'
	elif j=$(bpftool -j link show pinned "$pin" 2>/dev/null); then
		printf '%s\n' "$j" | jq -c --arg pin "$pin" --arg chain "$chain" --arg gen "$gen" '
			{chain: $chain, generation: $gen, kind: "link", id, type,
			 name: ($pin | split("/") | last), pin: $pin, live: false,
			 detail: ("prog \(.prog_id)" + (if .ifindex then " ifindex \(.ifindex)" else "" end))}'
	else
		jq -nc --arg pin "$pin" --arg chain "$chain" --arg gen "$gen" '
			{chain: $chain, generation: $gen, kind: "?", id: null, type: "?",
			 name: ($pin | split("/") | last), pin: $pin, live: false,
			 detail: "not a BPF object bpftool can read"}'
	fi
}

# The program id in slot 0 of the chain's root PROG_ARRAY, or "".
live_prog() {
	[ -e "$1/sl_root" ] || return 0
	bpftool -j map dump pinned "$1/sl_root" 2>/dev/null | jq -r '
		(.[0] // empty) |
		if .formatted then .formatted.value
		else (.value | map(ltrimstr("0x") | ascii_downcase |
			  explode | map(if . >= 97 then . - 87 else . - 48 end) | .[0] * 16 + .[1])
		      | .[0] + .[1] * 256 + .[2] * 65536 + .[3] * 16777216)
		end' 2>/dev/null || true
}

collect() {
	for cdir in "$ROOT"/*/; do
		[ -d "$cdir" ] || continue
		cdir=${cdir%/}
		chain=${cdir##*/}
		live=$(live_prog "$cdir")
		find "$cdir" -mindepth 1 ! -type d | sort | while read -r pin; do
			rel=${pin#"$cdir"/}
			case $rel in
			gen/*/*)
				g=${rel#gen/}
				g=${g%%/*}
				;;
			*) g=- ;;
			esac
			describe "$pin" "$chain" "$g" "$live"
		done
	done
}

# Generations numerically, shared objects first; a generation is live when
# one of its programs is the one in sl_root. In JSON the generation is a
# number (null for the shared objects).
objs=$(collect | jq -s '
	(map(select(.live and .generation != "-") | .generation) | unique) as $live_gens |
	map(.live = (.generation as $g | $live_gens | index($g) != null) |
	    .generation = (if .generation == "-" then null else (.generation | tonumber? // .) end)) |
	sort_by(.chain, (.generation // -1), ({prog: 0, map: 1, link: 2}[.kind] // 3), .pin)')

if [ "$JSON" = 1 ]; then
	printf '%s\n' "$objs" | jq '.'
	exit 0
fi

if [ "$(printf '%s' "$objs" | jq length)" -eq 0 ]; then
	echo "no sluice pins under $ROOT"
	exit 0
fi

printf '%s\n' "$objs" | jq -r '
	["CHAIN", "GEN", "KIND", "ID", "TYPE", "NAME", "PIN", "DETAIL"],
	(.[] | [.chain,
		((.generation // "-" | tostring) + (if .live then " (live)" else "" end)),
		.kind, (.id // "-" | tostring), .type, (.name // "-"), .pin, .detail])
	| @tsv' | awk -F '\t' '
	{ for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } n = NF }
	END {
		for (r = 1; r <= NR; r++) {
			line = ""
			for (i = 1; i <= n; i++)
				line = line (i < n ? sprintf("%-" w[i] "s  ", cell[r, i]) : cell[r, i])
			print line
		}
	}'
