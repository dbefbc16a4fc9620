/* dag.h: the DAG model and its YAML loader.
 *
 * A DAG file holds one DAG (a map with dag_id) or several (a map whose only key is "dags", a
 * list of such maps; sluice.yaml's dags: section has the same shape). Every field, its default
 * and the checks are in docs/scheduler.md. Each error names file:line; a bad DAG is skipped and
 * the others still load. */
#ifndef SL_SCHEDULER_DAG_H
#define SL_SCHEDULER_DAG_H

#include "core/config.h"
#include "scheduler/cron.h"

typedef enum {
    SL_RULE_ALL_SUCCESS, /* every upstream succeeded (the default) */
    SL_RULE_ALL_DONE,    /* every upstream finished, whatever its state */
    SL_RULE_ONE_FAILED,  /* at least one upstream failed */
    SL_RULE_ONE_SUCCESS, /* at least one upstream succeeded */
} sl_trigger_rule;

typedef struct sl_task {
    char *id, *type; /* type: ingest|shell|http|sql|sensor */
    char **depends_on;
    size_t ndeps;
    sl_trigger_rule trigger_rule;
    int retries;
    int64_t retry_delay_ms;
    bool retry_exponential_backoff;
    int64_t max_retry_delay_ms, execution_timeout_ms; /* 0: none */
    char *pool;                                       /* NULL: default pool */
    const sl_yaml *spec; /* the task's YAML map: type-specific fields (tasks.c reads them) */
    int line;
} sl_task;

typedef struct sl_dag {
    char *id, *description, **tags;
    size_t ntags;
    sl_cron *schedule; /* NULL: none (manual only) */
    char *timezone;    /* IANA name, "UTC" by default */
    /* start_date 0: none given; the scheduler starts from when it first sees the DAG. end 0: none
     */
    int64_t start_date_ms, end_date_ms;
    bool catchup;                /* true unless set (Airflow 2's catchup_by_default) */
    int is_paused_upon_creation; /* -1: not set (the scheduler's default), 0 or 1 */
    int max_active_runs;
    const sl_yaml *params; /* map of defaults, may be NULL */
    sl_task *tasks;        /* in topological order: a task comes after all it depends on */
    size_t ntasks;
    size_t *by_id; /* task indexes sorted by id (sl_dag_task); NULL in a DAG not loaded */
    const char *file;
    int line;
    /* the text of the file (or string) it was loaded from, as read then: a try that runs in a
     * fresh process loads its DAG from this, not from the file, which may have changed since */
    const char *text;
    size_t text_len;
} sl_dag;

/* The DAGs loaded from one or more sources. Owns the DAGs and the YAML documents their spec and
 * params point into. Pointers to its DAGs stay valid until the next load into it or its free. */
typedef struct sl_dagset {
    sl_dag *dags;
    size_t n;
    sl_yaml **docs;
    char **texts; /* the source text of each of docs */
    size_t ndocs;
} sl_dagset;

/* Loads path, a DAG file or a directory of them (*.yaml and *.yml, in name order, not
 * recursive), adding good DAGs to set and one "file:line: reason" per problem to errs. A dag_id
 * already in set is an error for the later one. Returns the number of DAGs added, or
 * SL_ERR_NOTFOUND when path cannot be read (also in errs). */
int sl_dag_load_path(sl_dagset *set, const char *path, sl_errs *errs);
/* The same for YAML text; name stands for the file in messages. */
int sl_dag_load_str(sl_dagset *set, const char *text, size_t len, const char *name, sl_errs *errs);
/* The same for an already parsed document (e.g. sluice.yaml's dags: section, a list or a DAG
 * map). Borrows doc: the caller keeps it alive as long as set. */
int sl_dag_load_yaml(sl_dagset *set, const sl_yaml *doc, sl_errs *errs);
/* Adds the built-in DAG user_automation (the seeds' DAG: @daily, catchup false, one ingest task
 * stream_data_from_api running for 60 s) unless set already has a DAG of that id. */
void sl_dag_add_default(sl_dagset *set);

const sl_dag *sl_dagset_find(const sl_dagset *set, const char *dag_id);
const sl_task *sl_dag_task(const sl_dag *d, const char *task_id);
void sl_dagset_free(sl_dagset *set);

/* Parses "all_success" etc.; returns 0 or SL_ERR_INVAL. */
int sl_trigger_rule_parse(const char *s, sl_trigger_rule *out);
const char *sl_trigger_rule_name(sl_trigger_rule r);
/* Parses a date: "2024-01-31", "2024-01-31T10:00[:00]" (or a space for T), optionally followed
 * by "Z" or "+hh:mm"; without an offset the time is wall-clock time in tz (NULL: UTC). */
int sl_dag_parse_date(const char *s, const char *tz, int64_t *out_ms);

#endif
