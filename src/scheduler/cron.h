/* cron.h: DAG schedules: 5-field cron expressions, presets, fixed intervals and @once, with
 * next/previous fire times computed in a time zone (UTC by default).
 *
 * Cron follows croniter (what Airflow uses): minute hour day-of-month month day-of-week, each a
 * list of values, ranges and steps ("1,15-30/5", "*", a step over "*", "5/15" = 5-max/15), month
 * and weekday names (jan..dec, sun..sat, any case), weekday 7 = Sunday. When both day fields are
 * restricted a day matches if either does (Vixie cron). Fire times are whole minutes of local
 * wall-clock time; across DST changes they fall as Airflow's croniter calls make them (see
 * cron.c). */
#ifndef SL_SCHEDULER_CRON_H
#define SL_SCHEDULER_CRON_H

#include "core/sl.h"

typedef struct sl_cron sl_cron;

typedef enum {
    SL_CRON_EXPR,     /* a 5-field expression or one of @hourly @daily @weekly @monthly @yearly */
    SL_CRON_INTERVAL, /* "every 30s": fires at anchor + k * every */
    SL_CRON_ONCE,     /* @once: fires once, at the anchor */
} sl_cron_kind;

/* Parses text ("0 9 * * mon-fri", "@daily", "every 30s", "@once") for time zone tz (an IANA name
 * such as "Europe/Paris"; NULL or "UTC" for UTC). anchor_ms is the DAG's start_date: intervals are
 * aligned to it and @once fires at it. On failure writes a one-line reason into err and returns
 * SL_ERR_PARSE (bad text) or SL_ERR_NOTFOUND (unknown time zone). "none" is not a schedule: the
 * DAG loader maps it to a NULL sl_cron. */
int sl_cron_parse(const char *text, const char *tz, int64_t anchor_ms, sl_cron **out, char *err,
                  size_t errlen);
void sl_cron_free(sl_cron *c);

/* The first fire time strictly after after_ms (epoch ms). Returns 0, or SL_ERR_NOTFOUND when the
 * schedule never fires again (@once already past, "0 0 30 2 *"). */
int sl_cron_next(const sl_cron *c, int64_t after_ms, int64_t *next_ms);
/* The last fire time strictly before before_ms, or SL_ERR_NOTFOUND when there is none. */
int sl_cron_prev(const sl_cron *c, int64_t before_ms, int64_t *prev_ms);

sl_cron_kind sl_cron_kind_of(const sl_cron *c);
/* The text the schedule was parsed from, as written. */
const char *sl_cron_text(const sl_cron *c);
/* SL_CRON_INTERVAL: the interval in ms; 0 for the other kinds. */
int64_t sl_cron_every_ms(const sl_cron *c);

/* True if tz names a zone of the system tz database (or is NULL or "UTC"). */
bool sl_cron_tz_valid(const char *tz);
/* The instant of wall-clock time year-mon-day hour:min:sec in tz (NULL: UTC), with the DST rules
 * of sl_cron_next. Returns 0, SL_ERR_INVAL for a field out of range, SL_ERR_NOTFOUND for an
 * unknown zone. */
int sl_cron_local_to_ms(const char *tz, int year, int mon, int day, int hour, int min, int sec,
                        int64_t *out_ms);

#endif
