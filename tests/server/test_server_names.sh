#!/usr/bin/env bash
# Every unit names its thread after its role, so ps, top and acceptscope read naturally:
# "acceptor", "dispatcher", the i-th worker "worker-i" ("shard-i" in reuseport), in the
# order the units started; --stats says the same name next to the role, and /proc's comm
# (the thread's, or a --processes worker's own) is that name.  Then --accept-work-us: the
# accepting thread burns that much CPU per accept (its schedstat run time, from /proc).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"

# expected_names MODEL THREADS: the names in unit order, space-separated.
expected_names() {
	local model=$1 n=$2 prefix=worker i names=()
	case $model in
	dispatch) names=(acceptor) ;;
	reqdispatch) names=(dispatcher) ;;
	reuseport) prefix=shard ;;
	single) n=1 ;;
	esac
	for ((i = 0; i < n; i++)); do names+=("$prefix-$i"); done
	echo "${names[*]}"
}

# check_names MODEL PROCESSES: names in --stats and in /proc agree with the roles.
check_names() {
	local model=$1 processes=$2 args=(--model "$1" --threads 3) label="$1" want stats_names comms t
	((processes)) && args+=(--processes) && label+=" --processes"
	demo_start "${args[@]}" --quiet
	demo_snapshot "$TMP/names.json"
	want=$(expected_names "$model" 3)
	stats_names=$(jq -r '[.threads[].name] | join(" ")' "$TMP/names.json")
	assert_eq "$label: names in --stats" "$want" "$stats_names"
	# Each role keeps its meaning: acceptor and dispatcher name themselves, the rest are workers.
	assert_eq "$label: roles" "$(sed -e 's/\(worker\|shard\)-[0-9]*/worker/g' <<<"$want")" \
		"$(jq -r '[.threads[].role] | join(" ")' "$TMP/names.json")"
	comms=$(jq -r '.threads[] | "\(.pid) \(.tid)"' "$TMP/names.json" | while read -r pid tid; do
		cat "/proc/$pid/task/$tid/comm"
	done | paste -sd' ')
	assert_eq "$label: /proc comm of each unit" "$want" "$comms"
	demo_stop
}

for model in "${MODELS[@]}"; do
	check_names "$model" 0
	[[ " ${PROCESS_MODELS[*]} " == *" $model "* ]] && check_names "$model" 1
done
assert_every_model "thread names" "${MODELS[@]}"

# --- --accept-work-us: the thread that accepts burns U microseconds per accept ---
U=20000 N=20
demo_start --model dispatch --threads 2 --accept-work-us "$U" --quiet
demo_snapshot "$TMP/before.json"
acceptor=$(jq -r '.threads[] | select(.role == "acceptor") | "\(.pid)/task/\(.tid)"' "$TMP/before.json")
run_ns() { cut -d' ' -f1 "/proc/$acceptor/schedstat"; }
[[ -r /proc/$acceptor/schedstat ]] || skip "no /proc/PID/task/TID/schedstat (kernel without CONFIG_SCHED_INFO)"
before=$(run_ns)
client load "$DEMO_PORT" --conns "$N" --reqs 1 --parallel 1 >"$TMP/client.json"
after=$(run_ns)
demo_snapshot "$TMP/after.json"
acceptor_accepts() { jq '.threads[] | select(.role == "acceptor") | .accepts' "$1"; }
accepts=$(($(acceptor_accepts "$TMP/after.json") - $(acceptor_accepts "$TMP/before.json")))
assert_eq "accepts during the burst" "$N" "$accepts"
# The busy loop counts iterations calibrated at start (the fastest of three 10 ms rounds);
# on this VM the same count runs a few percent faster or slower later (seen: 99.3% of the
# time asked), hence 90% below; above, 50% plus 50 ms for the rest of the acceptor's work.
cpu_us=$(((after - before) / 1000))
assert_ge "acceptor CPU (us) for $N accepts of $U us" $((N * U * 9 / 10)) "$cpu_us"
assert_le "acceptor CPU (us) for $N accepts of $U us" $((N * U * 3 / 2 + 50000)) "$cpu_us"
demo_stop
