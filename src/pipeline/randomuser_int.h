/* randomuser_int.h: the per-nationality tables behind randomuser.c (private to src/pipeline).
 *
 * Patterns (postcodes, phones, ids): '#' a digit, '@' a digit 1-9, 'A' a letter A-Z, 'D' the
 * date of birth as DDMMYY, 'L' the Spanish DNI check letter of the digits so far; anything else
 * is copied. A name "native|ascii" carries its transliteration for the email address; other
 * names are transliterated by rule (Latin diacritics, Ukrainian Cyrillic). */
#ifndef SL_PIPELINE_RANDOMUSER_INT_H
#define SL_PIPELINE_RANDOMUSER_INT_H

#include <stddef.h>

typedef struct ru_list {
    const char *const *v;
    size_t n;
} ru_list;

typedef struct ru_place {
    const char *city, *state;
} ru_place;

typedef struct ru_nat {
    const char *code, *country;
    ru_list male, female, last, streets;
    const ru_place *places;
    size_t nplaces;
    int pc_lo, pc_hi;       /* integer postcode range, when pc_pattern is NULL */
    const char *pc_pattern; /* string postcode */
    ru_list phone, cell;
    const char *id_name; /* "" with id_pattern NULL: value null */
    const char *id_pattern;
} ru_nat;

typedef struct ru_tz {
    const char *offset, *desc;
} ru_tz;

extern const ru_nat ru_nats[];
extern const ru_tz ru_timezones[];
extern const size_t ru_ntimezones;
extern const ru_list ru_adjectives, ru_animals, ru_passwords;

#endif
