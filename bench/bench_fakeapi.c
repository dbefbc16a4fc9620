/* bench_fakeapi.c: how fast the randomuser generator renders users (JSON, and CSV), in one
 * thread, without HTTP. Usage: bench_fakeapi [USERS] (default 500000). */
#include "pipeline/randomuser.h"

#include <stdio.h>
#include <stdlib.h>

static double run(sl_ru_format fmt, long users, size_t *bytes)
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
    for (long done = 0, page = 1; done < users; done += p.results, page++) {
        p.page = (int)page;
        sl_buf_reset(&b);
        sl_ru_render(&p, &b);
        *bytes += b.len;
    }
    double s = (double)(sl_mono_ns() - t0) / 1e9;
    sl_buf_free(&b);
    return s;
}

int main(int argc, char **argv)
{
    long users = argc > 1 ? atol(argv[1]) : 500000;
    if (users < 5000) users = 5000;
    size_t bytes;
    double s = run(SL_RU_JSON, users, &bytes);
    printf("json: %ld users in %.3f s: %.0f users/s, %.1f MB/s\n", users, s, users / s,
           bytes / s / 1e6);
    s = run(SL_RU_CSV, users, &bytes);
    printf("csv:  %ld users in %.3f s: %.0f users/s, %.1f MB/s\n", users, s, users / s,
           bytes / s / 1e6);
    return 0;
}
