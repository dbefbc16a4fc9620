/* bench_fakeapi.c: how fast the randomuser generator renders users (JSON, and CSV), in one
 * thread, without HTTP. Usage: bench_fakeapi [USERS] (default 500000). */
#include "pipeline/randomuser.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* CPU seconds of this thread: on a shared machine, wall time measures the neighbours too. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double run(sl_ru_format fmt, long users, size_t *bytes, double *cpu)
{
    sl_ru_params p;
    sl_ru_params_init(&p);
    sl_ru_params_set(&p, "seed", "bench");
    sl_ru_params_set(&p, "results", "5000");
    sl_ru_params_finish(&p, 0);
    p.format = fmt;
    sl_buf b = SL_BUF_INIT;
    *bytes = 0;
    uint64_t t0 = sl_mono_ns();
    double c0 = cpu_s();
    for (long done = 0, page = 1; done < users; done += p.results, page++) {
        p.page = (int)page;
        sl_buf_reset(&b);
        sl_ru_render(&p, &b);
        *bytes += b.len;
    }
    double s = (double)(sl_mono_ns() - t0) / 1e9;
    *cpu = cpu_s() - c0;
    sl_buf_free(&b);
    return s;
}

int main(int argc, char **argv)
{
    long users = argc > 1 ? atol(argv[1]) : 500000;
    if (users < 5000) users = 5000;
    size_t bytes;
    double cpu;
    double s = run(SL_RU_JSON, users, &bytes, &cpu);
    printf("json: %ld users: %.0f users/s wall (%.3f s), %.0f users per CPU second, %.1f MB/s\n",
           users, users / s, s, users / cpu, bytes / s / 1e6);
    s = run(SL_RU_CSV, users, &bytes, &cpu);
    printf("csv:  %ld users: %.0f users/s wall (%.3f s), %.0f users per CPU second, %.1f MB/s\n",
           users, users / s, s, users / cpu, bytes / s / 1e6);
    return 0;
}
