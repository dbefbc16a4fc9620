/* cron_driver: batch front end to sl_cron_next/sl_cron_prev for test_0400's comparison with
 * croniter. Each stdin line is "next|prev<TAB>TZ<TAB>EPOCH_MS<TAB>EXPRESSION"; each output line
 * is the fire time in epoch ms, "none" when there is none, or "error: reason". */
#include "scheduler/cron.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    char line[1024];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = '\0';
        char *save = NULL;
        char *dir = strtok_r(line, "\t", &save), *tz = strtok_r(NULL, "\t", &save);
        char *at = strtok_r(NULL, "\t", &save), *expr = strtok_r(NULL, "\t", &save);
        if (!dir || !tz || !at || !expr) {
            printf("error: bad input line\n");
            continue;
        }
        char err[256];
        sl_cron *c;
        if (sl_cron_parse(expr, tz, 0, &c, err, sizeof err) < 0) {
            printf("error: %s\n", err);
            continue;
        }
        int64_t t = strtoll(at, NULL, 10), out;
        int rc = strcmp(dir, "prev") == 0 ? sl_cron_prev(c, t, &out) : sl_cron_next(c, t, &out);
        if (rc == 0)
            printf("%lld\n", (long long)out);
        else
            printf("none\n");
        sl_cron_free(c);
    }
    return 0;
}
