# plot.gnuplot - throughput against client count (bench/compare.sh).
# gnuplot -e "datafile='X.dat'; outfile='docs/perf-clients.svg'" bench/plot.gnuplot
# Columns: clients mps_incr mps_append mps_dset redis_incr redis_lpush
#          redis_hset mgr_incr mgr_append mgr_dset echo
if (!exists("datafile")) datafile = 'perf-clients.dat'
if (!exists("outfile")) outfile = 'perf-clients.svg'
set terminal svg size 900,540 dynamic font "sans,12" background rgb "white"
set output outfile
set title "Throughput against concurrent clients (one op in flight each)"
set xlabel "clients (Manager: processes)"
set ylabel "ops/s"
set logscale x
set logscale y
set xtics ("1" 1, "10" 10, "50" 50)
set xrange [0.8:65]
set grid
set key outside right top
set datafile missing "NaN"
plot datafile u 1:2  w lp lw 2 pt 7 lc rgb "#1f77b4" t "mpstore incr", \
     ''       u 1:4  w lp lw 2 pt 5 lc rgb "#1f77b4" dt 2 t "mpstore dict set", \
     ''       u 1:5  w lp lw 2 pt 7 lc rgb "#d62728" t "Redis INCR", \
     ''       u 1:7  w lp lw 2 pt 5 lc rgb "#d62728" dt 2 t "Redis HSET", \
     ''       u 1:9  w lp lw 2 pt 7 lc rgb "#2ca02c" t "Manager list append", \
     ''       u 1:10 w lp lw 2 pt 5 lc rgb "#2ca02c" dt 2 t "Manager dict set", \
     ''       u 1:11 w lp lw 2 pt 9 lc rgb "#7f7f7f" dt 3 t "nng echo (ceiling)"
