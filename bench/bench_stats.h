/* bench_stats.h: the order statistics every benchmark reports (docs/benchmarks.md, "How a
 * benchmark reports"): the median of the runs with their min-max, percentiles of latency
 * samples, and the table row of two sides and their ratio. Each benchmark is one file built on
 * its own, so these are static inline. */
#ifndef SLUICE_BENCH_STATS_H
#define SLUICE_BENCH_STATS_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* qsort's order of doubles, with NaN (a failed sample) after every number. */
static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    int nx = isnan(x) != 0, ny = isnan(y) != 0;
    if (nx || ny) return nx - ny;
    return (x > y) - (x < y);
}

static inline void bench_sort(double *v, size_t n)
{
    qsort(v, n, sizeof *v, bench_cmp_double);
}

/* Sorts v and returns its value at quantile p (0 to 1, the nearest rank); NAN if n is 0. */
static inline double bench_pct(double *v, size_t n, double p)
{
    if (!n) return NAN;
    bench_sort(v, n);
    return v[(size_t)(p * (double)(n - 1) + 0.5)];
}

typedef struct bench_stat3 {
    double med, min, max;
    int n; /* the samples that are numbers: a NaN is a failed run */
} bench_stat3;

/* The numbers among v's n values (v is left as it is): the median (of an even count, the mean
 * of the middle two), the min and the max; all NAN when there are none. */
static inline bench_stat3 bench_stats(const double *v, int n)
{
    double *s = malloc((size_t)(n > 0 ? n : 1) * sizeof *s);
    if (!s) abort();
    if (n > 0) memcpy(s, v, (size_t)n * sizeof *s);
    bench_sort(s, (size_t)(n > 0 ? n : 0));
    int ok = 0;
    while (ok < n && !isnan(s[ok]))
        ok++;
    bench_stat3 r = {NAN, NAN, NAN, ok};
    if (ok) {
        r.min = s[0];
        r.max = s[ok - 1];
        r.med = ok % 2 ? s[ok / 2] : (s[ok / 2 - 1] + s[ok / 2]) / 2;
    }
    free(s);
    return r;
}

/* A table row comparing n runs of sluice (ours) with n of a peer (theirs): each side's median
 * (min-max) with prec decimals, and the ratio of the medians. */
static inline void bench_row(const char *what, const double *ours, const char *peer,
                             const double *theirs, int n, int prec)
{
    bench_stat3 o = bench_stats(ours, n), t = bench_stats(theirs, n);
    printf("| %s | %.*f (%.*f-%.*f) | %s | %.*f (%.*f-%.*f) | %.2f |\n", what, prec, o.med, prec,
           o.min, prec, o.max, peer, prec, t.med, prec, t.min, prec, t.max, o.med / t.med);
}

#endif
