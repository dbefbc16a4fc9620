/* stage.h: the PostgreSQL outbox of `sluice ingest --stage` (seed 003's staging). Raw API users
 * are written to a table first; the producer reads unsent rows back from that table and marks a
 * row sent only after Kafka's delivery report for it. Each row's id is fixed when it is staged,
 * so a row sent twice (a crash between the delivery report and the mark) is the same record
 * twice, which the id-keyed upsert downstream stores once.
 *
 * Tables (NAME from the URL's ?table=, default sluice_ingest_stage):
 *   NAME_jobs: one row per job (source, topic, target, batch, fetched, next_page), so that a
 *              job cut short by a crash resumes where its last staged page left it;
 *   NAME:      seq, job, topic, id, raw (the API's user object as JSON), value (the record
 *              to produce: format_data of raw with id), staged_at, sent_at.
 * One ingest at a time uses a given stage table (a session advisory lock enforces it). */
#ifndef SL_PIPELINE_STAGE_H
#define SL_PIPELINE_STAGE_H

#include "core/sl.h"

#include <jansson.h>

typedef struct sl_stage sl_stage;

/* The job this run works on. */
typedef struct sl_stage_job {
    int64_t id;
    int64_t target;  /* users to fetch in the whole job; -1 for a --duration run */
    int64_t fetched; /* users staged so far, across runs */
    int next_page;   /* the next page a seeded source is asked for */
    bool resumed;    /* an unfinished job of an earlier run */
} sl_stage_job;

/* An unsent row read back from the table. Strings are valid until the next sl_stage_next. */
typedef struct sl_stage_row {
    int64_t seq;
    const char *topic;
    const char *id;
    const char *value; /* the record, value_len bytes */
    size_t value_len;
} sl_stage_row;

/* Connects (url: postgresql://...[?table=NAME], the rest is libpq's), takes the table's lock and
 * creates the tables if missing. Returns 0 or <0 with the reason (never the password) in err. */
int sl_stage_open(const char *url, sl_stage **out, char *err, size_t errlen);
void sl_stage_close(sl_stage *st);
/* The table name in use. */
const char *sl_stage_table(const sl_stage *st);

/* Finds the newest unfinished job with the same source, topic, target (target >= 0) and batch
 * (pages of another size are other users) to resume, or starts a new one. first_page is where
 * a new seeded job starts. */
int sl_stage_job_begin(sl_stage *st, const char *source, const char *topic, int64_t target,
                       int batch, int first_page, sl_stage_job *job, char *err, size_t errlen);
/* Marks the job finished: a later run with the same arguments starts a new one. */
int sl_stage_job_finish(sl_stage *st, const sl_stage_job *job, char *err, size_t errlen);

/* In one transaction: stores n raw users with their ids and records (values[i], NUL-terminated)
 * and advances the job's fetched count by n and its next page to next_page. Either all of it
 * is durable or none. */
int sl_stage_put(sl_stage *st, sl_stage_job *job, const char *topic, json_t *const *users,
                 const char *const *ids, const char *const *values, size_t n, int next_page,
                 char *err, size_t errlen);

/* Reads up to max unsent rows with seq > after, in seq order. *rows points into st and is valid
 * until the next call. Returns the number of rows (0: none left) or <0. */
int sl_stage_next(sl_stage *st, int64_t after, int max, const sl_stage_row **rows, char *err,
                  size_t errlen);
/* Marks the rows with these seqs sent. */
int sl_stage_mark_sent(sl_stage *st, const int64_t *seqs, size_t n, char *err, size_t errlen);
/* Counts the rows not yet marked sent. */
int sl_stage_unsent(sl_stage *st, int64_t *count, char *err, size_t errlen);

#endif
