# shellcheck shell=bash
# How much CPU other processes took during a benchmark step, sourced by bench/run.sh and bench/seal.sh.
# Needs PGDATA (the benchmark cluster), CLK_TCK and NPROC.

# cpu_ticks: "busy steal ours uptime": busy is the non-idle CPU time of the whole machine (user,
# nice, system, irq, softirq), steal the time the hypervisor gave to other guests, ours the CPU time
# of the benchmark cluster (postmaster, its live children and the children it has reaped) and of
# this script's children (pgbench, psql, witness-verify), all in clock ticks; uptime in seconds. busy - ours is
# what other processes on this machine used: on a shared machine, the disturbance of a run.
cpu_ticks() {
	local pm busy steal up
	pm="$(head -n 1 "$PGDATA/postmaster.pid")"
	read -r busy steal < <(awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $9; exit }' /proc/stat)
	read -r up _ </proc/uptime
	# shellcheck disable=SC2016 # awk program
	{ cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v pm="$pm" -v self="$$" -v busy="$busy" -v steal="$steal" -v up="$up" '
		{
			pid = $1
			sub(/^[^)]*\) /, "")    # drop "pid (comm) ": $1 is now the state, $2 the ppid
			if (pid == pm) ours += $12 + $13 + $14 + $15
			else if ($2 == pm) ours += $12 + $13
			else if (pid == self) ours += $14 + $15
		}
		END { print busy, steal, ours + 0, up }'
}

# cpu_delta BEFORE AFTER: "others_cpu_s,others_cpu_pct,steal_s" between two cpu_ticks: CPU seconds
# other processes used, as a percentage of what the machine had (nproc x wall time), and steal.
cpu_delta() {
	awk -v a="$1" -v b="$2" -v hz="$CLK_TCK" -v nproc="$NPROC" 'BEGIN {
		split(a, x, " "); split(b, y, " ")
		others = ((y[1] - x[1]) - (y[3] - x[3])) / hz; if (others < 0) others = 0
		wall = y[4] - x[4]; if (wall <= 0) wall = 0.01
		printf "%.1f,%.0f,%.1f", others, 100 * others / (nproc * wall), (y[2] - x[2]) / hz }'
}

# cluster_ticks: CPU time of the benchmark cluster alone (the postmaster, its live children and the
# children it has reaped: the sealer and maintainer processes that left), in clock ticks. Divided by
# a run's transactions it is a per-transaction cost that, unlike tps, barely moves between runs.
cluster_ticks() {
	local pm
	pm="$(head -n 1 "$PGDATA/postmaster.pid")"
	# shellcheck disable=SC2016 # awk program
	{ cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v pm="$pm" '
		{
			pid = $1
			sub(/^[^)]*\) /, "")
			if (pid == pm) t += $12 + $13 + $14 + $15
			else if ($2 == pm) t += $12 + $13
		}
		END { print t + 0 }'
}
