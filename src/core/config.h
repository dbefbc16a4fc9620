/* config.h: YAML documents, typed option tables, and error lists that name file:line.
 *
 * An option table (STYLE.md 5, Fluent Bit config_map) drives parsing, validation, defaults and
 * --help at once. The same table serves sluice.yaml sections and command-line flags. */
#ifndef SL_CONFIG_H
#define SL_CONFIG_H

#include "core/sl.h"
#include <stdio.h>

/* A list of operator-facing errors, each "FILE:LINE: KEY: reason". */
typedef struct sl_errs {
    char **msgs;
    size_t n;
} sl_errs;

void sl_errs_add(sl_errs *e, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void sl_errs_print(const sl_errs *e, FILE *out);
void sl_errs_free(sl_errs *e);

/* A parsed YAML node. Maps keep their keys in document order. Every node knows its file and
 * 1-based line, so later validation can point at it. */
typedef enum { SL_YAML_SCALAR, SL_YAML_MAP, SL_YAML_SEQ } sl_yaml_kind;

typedef struct sl_yaml {
    sl_yaml_kind kind;
    int line;
    const char *file;       /* owned by the root document */
    char *scalar;           /* SL_YAML_SCALAR: the text; NULL for an explicit null (~ or empty) */
    size_t n;               /* MAP or SEQ: number of children */
    char **keys;            /* MAP: the keys */
    int *key_lines;         /* MAP: the line of each key */
    struct sl_yaml **items; /* MAP values or SEQ items */
} sl_yaml;

/* Loads a YAML file (or a string; name is used in messages). Syntax errors, anchors/aliases and
 * duplicate keys are reported into errs with file:line. Returns 0 or SL_ERR_CONFIG. */
int sl_yaml_load_file(const char *path, sl_yaml **out, sl_errs *errs);
int sl_yaml_load_str(const char *text, size_t len, const char *name, sl_yaml **out, sl_errs *errs);
/* Looks up key in a map, following dots ("store.listen"); NULL if absent or not a map. */
const sl_yaml *sl_yaml_get(const sl_yaml *map, const char *path);
void sl_yaml_free(sl_yaml *y);

typedef enum {
    SL_OPT_STR,      /* char * (malloc'd) */
    SL_OPT_INT,      /* int64_t */
    SL_OPT_BOOL,     /* bool: true/false/yes/no/on/off/1/0 */
    SL_OPT_DURATION, /* int64_t milliseconds: "250ms", "30s", "5m", "7d" */
    SL_OPT_SIZE,     /* int64_t bytes: "64k", "100MiB" */
    SL_OPT_HOSTPORT, /* char *, checked to be HOST:PORT */
    SL_OPT_ENUM,     /* char *, one of the '|'-separated choices */
} sl_opt_type;

typedef struct sl_opt {
    const char *name; /* key within its section, e.g. "listen"; NULL ends a table */
    sl_opt_type type;
    const char *def;     /* default, in the same text form a user writes; NULL for none */
    size_t offset;       /* offsetof() the field in the target struct */
    const char *help;    /* one line for --help and the example sluice.yaml */
    const char *choices; /* SL_OPT_ENUM: "always|interval|os" */
    int64_t min, max;    /* INT, DURATION, SIZE: inclusive bounds, both 0 means unbounded */
} sl_opt;

/* Sets every option of tbl in obj to its default (overwriting, not freeing, what was there).
 * A default that does not parse aborts: the table is wrong. */
void sl_config_defaults(const sl_opt *tbl, void *obj);
/* Parses one value; on failure writes a one-line reason (naming the key) into err and returns
 * SL_ERR_NOTFOUND for an unknown name or SL_ERR_CONFIG for a bad value. */
int sl_config_set(const sl_opt *tbl, void *obj, const char *name, const char *value, char *err,
                  size_t errlen);
/* Applies a YAML map to obj. Unknown keys, wrong node kinds and bad values are each added to
 * errs as "file:line: section.key: reason"; section may be NULL. Returns the number of errors
 * added. */
int sl_config_apply(const sl_opt *tbl, void *obj, const sl_yaml *map, const char *section,
                    sl_errs *errs);
/* Frees the strings an option table stored in obj. */
void sl_config_free(const sl_opt *tbl, void *obj);
/* Prints "  --name VALUE  help (default: def)" for each option. */
void sl_config_help(const sl_opt *tbl, FILE *out);

/* Parses command-line flags "--name value", "--name=value" and bare "--flag" for BOOL options,
 * starting at argv[*argi], stopping at "--" or the first non-flag argument (left in *argi).
 * '-' and '_' are the same in flag names (--data-dir sets data_dir); "-x" looks up "x".
 * "--help" prints usage and returns 1. An unknown flag or bad value prints one line
 * "sluice CMD: reason" to stderr and returns SL_ERR_INVAL, which callers turn into exit 2. */
int sl_args_parse(const sl_opt *tbl, void *obj, const char *cmd, const char *usage, int argc,
                  char **argv, int *argi);

#endif
