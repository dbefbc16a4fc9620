/* fuzz_yaml_config.c: YAML text -> sl_yaml tree -> option table, the path every sluice.yaml
 * takes. Any input must end in a tree or a list of errors, never a crash or a leak. */
#include "fuzz.h"

#include "core/config.h"

#include <stddef.h>

typedef struct fuzz_cfg {
    char *listen;
    char *name;
    int64_t count;
    bool flag;
    int64_t wait_ms;
    int64_t size;
    char *mode;
    char *tls_cert;
} fuzz_cfg;

static const sl_opt opts[] = {
    {.name = "listen",
     .type = SL_OPT_HOSTPORT,
     .def = "127.0.0.1:9092",
     .offset = offsetof(fuzz_cfg, listen)},
    {.name = "name", .type = SL_OPT_STR, .offset = offsetof(fuzz_cfg, name)},
    {.name = "count",
     .type = SL_OPT_INT,
     .def = "1",
     .offset = offsetof(fuzz_cfg, count),
     .min = -5,
     .max = 1000},
    {.name = "flag", .type = SL_OPT_BOOL, .offset = offsetof(fuzz_cfg, flag)},
    {.name = "wait", .type = SL_OPT_DURATION, .def = "1s", .offset = offsetof(fuzz_cfg, wait_ms)},
    {.name = "size",
     .type = SL_OPT_SIZE,
     .def = "1m",
     .offset = offsetof(fuzz_cfg, size),
     .min = 1,
     .max = 1LL << 40},
    {.name = "mode",
     .type = SL_OPT_ENUM,
     .def = "a",
     .offset = offsetof(fuzz_cfg, mode),
     .choices = "a|bb|c"},
    {.name = "tls.cert", .type = SL_OPT_STR, .offset = offsetof(fuzz_cfg, tls_cert)},
    {.name = NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_errs errs = {0};
    sl_yaml *root = NULL;
    if (sl_yaml_load_str((const char *)data, size, "fuzz.yaml", &root, &errs) == 0) {
        fuzz_cfg cfg;
        sl_config_defaults(opts, &cfg);
        /* The same table as a top-level document and as a section, the way components use it. */
        int n = sl_config_apply(opts, &cfg, root, NULL, &errs);
        n += sl_config_apply(opts, &cfg, sl_yaml_get(root, "broker"), "broker", &errs);
        if (n < 0 || (size_t)n > errs.n) __builtin_trap();
        sl_yaml_get(root, "broker.tls.cert");
        sl_config_free(opts, &cfg);
        sl_yaml_free(root);
    } else if (root != NULL || errs.n == 0) {
        __builtin_trap(); /* a failed load must say why and return no tree */
    }
    sl_errs_free(&errs);
    return 0;
}
