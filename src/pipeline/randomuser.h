/* randomuser.h: a deterministic generator of randomuser.me 1.4 users and responses.
 *
 * The same parameters (seed, page, results, nat, inc/exc, noinfo, format) give byte-identical
 * output: users come from one xoshiro256** stream seeded from (seed, page), and every date is
 * relative to a fixed reference instant (SL_RU_REF_MS), not the clock. Values follow each
 * nationality's formats (docs/fake-api.md). Thread-safe: no shared mutable state. */
#ifndef SL_PIPELINE_RANDOMUSER_H
#define SL_PIPELINE_RANDOMUSER_H

#include "core/buf.h"
#include "core/sl.h"

#define SL_RU_NNAT        21
#define SL_RU_MAX_RESULTS 5000
#define SL_RU_MAX_PAGE    10000
#define SL_RU_SEED_MAX    256             /* longer seeds are cut to this many bytes */
#define SL_RU_REF_MS      1767225600000LL /* 2026-01-01T00:00:00Z: "now" for ages and dates */

typedef enum { SL_RU_ANY, SL_RU_MALE, SL_RU_FEMALE } sl_ru_gender;
typedef enum { SL_RU_JSON, SL_RU_PRETTY, SL_RU_CSV } sl_ru_format;

/* Fields of a user, the names inc= and exc= take, in randomuser's output order. */
enum {
    SL_RU_F_GENDER = 1u << 0,
    SL_RU_F_NAME = 1u << 1,
    SL_RU_F_LOCATION = 1u << 2,
    SL_RU_F_EMAIL = 1u << 3,
    SL_RU_F_LOGIN = 1u << 4,
    SL_RU_F_DOB = 1u << 5,
    SL_RU_F_REGISTERED = 1u << 6,
    SL_RU_F_PHONE = 1u << 7,
    SL_RU_F_CELL = 1u << 8,
    SL_RU_F_ID = 1u << 9,
    SL_RU_F_PICTURE = 1u << 10,
    SL_RU_F_NAT = 1u << 11,
    SL_RU_F_ALL = (1u << 12) - 1,
};

/* A request's parameters, after randomuser's rules: invalid values fall back to defaults. */
typedef struct sl_ru_params {
    int results; /* 1..5000; default 1 */
    int page;    /* 1..10000; default 1 */
    char seed[SL_RU_SEED_MAX + 1];
    size_t seed_len;     /* 0: none given (sl_ru_params_finish picks one) */
    bool seed_given;     /* set by sl_ru_params_finish: the client chose the seed */
    sl_ru_gender gender; /* ignored when a seed is given, as randomuser does */
    uint32_t nats;       /* bit i = nationality i; 0: all */
    uint32_t inc, exc;   /* field masks; inc 0: all fields */
    bool noinfo;
    sl_ru_format format;
} sl_ru_params;

/* One generated user. Strings are NUL-terminated; name and place strings point into static
 * tables, the rest live in the struct. */
typedef struct sl_ru_user {
    bool female;
    int nat;
    const char *title;
    char first[64], last[64];
    int street_number;
    const char *street, *city, *state, *country;
    bool postcode_is_int;
    int postcode_int;
    char postcode[16];
    char latitude[16], longitude[16];
    const char *tz_offset, *tz_desc;
    char email[128];
    char uuid[37];
    char username[48];
    const char *password;
    char salt[9];
    char md5[33], sha1[41], sha256[65];
    char dob[25];
    int dob_age;
    char registered[25];
    int registered_age;
    char phone[32], cell[32];
    const char *id_name;
    bool id_null;
    char id_value[40];
    int picture; /* portrait number */
} sl_ru_user;

/* The generator's stream. */
typedef struct sl_ru_gen {
    uint64_t s[4];
} sl_ru_gen;

/* Defaults: results 1, page 1, no seed, both genders, all nationalities and fields, JSON. */
void sl_ru_params_init(sl_ru_params *p);
/* Applies one query parameter (decoded). Unknown keys and values are ignored, like randomuser:
 * an out-of-range results or page becomes 1, an unknown nat is skipped, unknown fields too. */
void sl_ru_params_set(sl_ru_params *p, const char *key, const char *value);
/* Picks a random 16-hex-char seed from entropy when none was given. */
void sl_ru_params_finish(sl_ru_params *p, uint64_t entropy);
/* The fields a response carries: inc (or all) minus exc. */
uint32_t sl_ru_params_fields(const sl_ru_params *p);

/* Nationality index of a code ("us", "US"), or -1. */
int sl_ru_nat_index(const char *code, size_t len);
/* "US" for an index in 0..SL_RU_NNAT-1. */
const char *sl_ru_nat_code(int nat);
/* Field bit of a name ("login"), or 0. */
uint32_t sl_ru_field_bit(const char *name, size_t len);

/* Seeds the stream for (seed, page). */
void sl_ru_gen_init(sl_ru_gen *g, const char *seed, size_t seed_len, int page);
/* Generates the next user. nats and gender as in sl_ru_params; with_login false skips the
 * hashes (the stream advances the same either way). */
void sl_ru_gen_user(sl_ru_gen *g, uint32_t nats, sl_ru_gender gender, bool with_login,
                    sl_ru_user *u);

/* Appends one user as a JSON object with the given fields (no trailing separator). */
void sl_ru_user_json(const sl_ru_user *u, uint32_t fields, sl_buf *out);
/* Renders a whole response body for p (after sl_ru_params_finish); returns its content type. */
const char *sl_ru_render(const sl_ru_params *p, sl_buf *out);

#endif
