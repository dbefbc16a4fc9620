/* lexer.c: CQL tokens (see lexer.h). */
#include "cql/lexer.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static const char *const kw_text[] = {NULL,
#define KW_TEXT_(name, text, reserved) text,
                                      SL_CQL_KEYWORDS(KW_TEXT_)
#undef KW_TEXT_
};

static const bool kw_reserved[] = {false,
#define KW_RES_(name, text, reserved) reserved,
                                   SL_CQL_KEYWORDS(KW_RES_)
#undef KW_RES_
};

#define KW_MAX_LEN  16
#define KW_HASH_LEN 512 /* a power of two, over three times the keyword count */

static const uint8_t kw_len[] = {0,
#define KW_LEN_(name, text, reserved) sizeof(text) - 1,
                                 SL_CQL_KEYWORDS(KW_LEN_)
#undef KW_LEN_
};

/* Open-addressing table from a keyword's hash to its sl_cql_kw (0: empty), built once. Every
 * identifier the lexer scans is looked up here, so this is on the hot path of each query. */
static uint8_t kw_hash[KW_HASH_LEN];
static pthread_once_t kw_once = PTHREAD_ONCE_INIT;

static inline uint32_t kw_hash_step(uint32_t h, unsigned char c)
{
    return (h ^ c) * 16777619u;
}

static void kw_hash_build(void)
{
    _Static_assert(SL_CQL_KW_COUNT_ < 256, "kw_hash stores keywords in a byte");
    for (int k = 1; k < SL_CQL_KW_COUNT_; k++) {
        uint32_t h = 2166136261u;
        for (const char *s = kw_text[k]; *s; s++)
            h = kw_hash_step(h, (unsigned char)*s);
        uint32_t i = h & (KW_HASH_LEN - 1);
        while (kw_hash[i])
            i = (i + 1) & (KW_HASH_LEN - 1);
        kw_hash[i] = (uint8_t)k;
    }
}

sl_cql_kw sl_cql_keyword(const char *s, size_t n)
{
    char low[KW_MAX_LEN];
    if (n == 0 || n > KW_MAX_LEN) return SL_CQL_KW_NONE;
    pthread_once(&kw_once, kw_hash_build);
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        low[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
        h = kw_hash_step(h, (unsigned char)low[i]);
    }
    for (uint32_t i = h & (KW_HASH_LEN - 1);; i = (i + 1) & (KW_HASH_LEN - 1)) {
        uint8_t k = kw_hash[i];
        if (k == 0) return SL_CQL_KW_NONE;
        if (kw_len[k] == n && memcmp(kw_text[k], low, n) == 0) return (sl_cql_kw)k;
    }
}

bool sl_cql_kw_reserved(sl_cql_kw kw)
{
    return kw > SL_CQL_KW_NONE && kw < SL_CQL_KW_COUNT_ && kw_reserved[kw];
}

const char *sl_cql_kw_text(sl_cql_kw kw)
{
    return kw > SL_CQL_KW_NONE && kw < SL_CQL_KW_COUNT_ ? kw_text[kw] : "";
}

const char *sl_cql_tok_name(sl_cql_tok_kind kind)
{
    switch (kind) {
    case SL_CQL_TOK_EOF: return "EOF";
    case SL_CQL_TOK_IDENT: return "IDENT";
    case SL_CQL_TOK_QNAME: return "QUOTED_NAME";
    case SL_CQL_TOK_EMPTY_QNAME: return "EMPTY_QUOTED_NAME";
    case SL_CQL_TOK_STRING: return "STRING_LITERAL";
    case SL_CQL_TOK_INTEGER: return "INTEGER";
    case SL_CQL_TOK_FLOAT: return "FLOAT";
    case SL_CQL_TOK_BOOLEAN: return "BOOLEAN";
    case SL_CQL_TOK_DURATION: return "DURATION";
    case SL_CQL_TOK_UUID: return "UUID";
    case SL_CQL_TOK_HEX: return "HEXNUMBER";
    case SL_CQL_TOK_QMARK: return "QMARK";
    case SL_CQL_TOK_LPAREN: return "'('";
    case SL_CQL_TOK_RPAREN: return "')'";
    case SL_CQL_TOK_LBRACKET: return "'['";
    case SL_CQL_TOK_RBRACKET: return "']'";
    case SL_CQL_TOK_LBRACE: return "'{'";
    case SL_CQL_TOK_RBRACE: return "'}'";
    case SL_CQL_TOK_COMMA: return "','";
    case SL_CQL_TOK_SEMI: return "';'";
    case SL_CQL_TOK_DOT: return "'.'";
    case SL_CQL_TOK_COLON: return "':'";
    case SL_CQL_TOK_RANGE: return "RANGE";
    case SL_CQL_TOK_EQ: return "'='";
    case SL_CQL_TOK_LT: return "'<'";
    case SL_CQL_TOK_LTE: return "'<='";
    case SL_CQL_TOK_GT: return "'>'";
    case SL_CQL_TOK_GTE: return "'>='";
    case SL_CQL_TOK_NEQ: return "'!='";
    case SL_CQL_TOK_PLUS: return "'+'";
    case SL_CQL_TOK_MINUS: return "'-'";
    case SL_CQL_TOK_STAR: return "'*'";
    case SL_CQL_TOK_SLASH: return "'/'";
    case SL_CQL_TOK_PERCENT: return "'%'";
    case SL_CQL_TOK_PLUS_EQ: return "'+='";
    case SL_CQL_TOK_MINUS_EQ: return "'-='";
    }
    return "?";
}

void sl_cql_lex_init(sl_cql_lexer *lx, const char *src, uint32_t len)
{
    lx->src = src;
    lx->len = len;
    lx->off = 0;
    lx->line = 1;
    lx->line_start = 0;
}

static inline bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}
static inline bool is_letter(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static inline bool is_hex(int c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static inline bool is_ident_char(int c)
{
    return is_letter(c) || is_digit(c) || c == '_';
}

/* Byte at offset i, or -1 past the end. */
static inline int at(const sl_cql_lexer *lx, uint32_t i)
{
    return i < lx->len ? (unsigned char)lx->src[i] : -1;
}

/* Advances over n bytes known to hold no newline. */
static inline void skip(sl_cql_lexer *lx, uint32_t n)
{
    lx->off += n;
}

/* Advances one byte, keeping line accounting for newlines inside strings and comments. */
static inline void step(sl_cql_lexer *lx)
{
    if (lx->src[lx->off] == '\n') {
        lx->line++;
        lx->line_start = lx->off + 1;
    }
    lx->off++;
}

static int lex_error(sl_cql_lexer *lx, sl_cql_parse_error *err, const char *fmt_what)
{
    if (err) {
        err->line = lx->line;
        err->col = lx->off - lx->line_start;
        err->off = lx->off;
        snprintf(err->message, sizeof err->message, "line %u:%u %s", err->line, err->col, fmt_what);
    }
    return SL_ERR_PARSE;
}

/* Length of a uuid starting at off (8-4-4-4-12 hex digits), or 0. */
static uint32_t match_uuid(const sl_cql_lexer *lx, uint32_t off)
{
    static const uint8_t groups[] = {8, 4, 4, 4, 12};
    uint32_t i = off;
    for (size_t g = 0; g < sizeof groups; g++) {
        if (g > 0) {
            if (at(lx, i) != '-') return 0;
            i++;
        }
        for (uint32_t k = 0; k < groups[g]; k++, i++)
            if (!is_hex(at(lx, i))) return 0;
    }
    return i - off;
}

/* Length of a duration unit at off (y mo w d h m s ms us µs ns, any case), or 0. */
static uint32_t match_unit(const sl_cql_lexer *lx, uint32_t off)
{
    int c = at(lx, off), d = at(lx, off + 1);
    int lc = c | 0x20, ld = d | 0x20;
    if (c == 0xC2 && d == 0xB5 && (at(lx, off + 2) | 0x20) == 's') return 3; /* µs */
    if (c < 0 || !is_letter(c)) return 0;
    if (d >= 0 && is_letter(d)) {
        if (lc == 'm' && ld == 'o') return 2;
        if (lc == 'm' && ld == 's') return 2;
        if (lc == 'u' && ld == 's') return 2;
        if (lc == 'n' && ld == 's') return 2;
    }
    switch (lc) {
    case 'y':
    case 'w':
    case 'd':
    case 'h':
    case 'm':
    case 's': return 1;
    }
    return 0;
}

/* Length of "DIGIT+ UNIT (DIGIT+ UNIT)*" at off (after an optional '-'), or 0. */
static uint32_t match_unit_duration(const sl_cql_lexer *lx, uint32_t off)
{
    uint32_t i = off, matched = 0;
    for (;;) {
        uint32_t d = i;
        while (is_digit(at(lx, d)))
            d++;
        if (d == i) break;
        uint32_t u = match_unit(lx, d);
        if (u == 0) break;
        i = d + u;
        matched = i - off;
    }
    return matched;
}

/* Length of DIGIT+ followed by the designator letter c at off, or 0. */
static uint32_t match_designated(const sl_cql_lexer *lx, uint32_t off, char c)
{
    uint32_t i = off;
    while (is_digit(at(lx, i)))
        i++;
    if (i == off || at(lx, i) != c) return 0;
    return i + 1 - off;
}

/* ISO 8601 durations starting with 'P' at off: P1Y2M3D, PT1H, P2W, P0001-02-03T04:05:06.
 * Returns the length matched, or 0. Designators are upper case, as in Cassandra's lexer. */
static uint32_t match_iso_duration(const sl_cql_lexer *lx, uint32_t off)
{
    if (at(lx, off) != 'P') return 0;
    uint32_t i = off + 1, n;
    /* The alternative format P yyyy-mm-ddThh:mm:ss. */
    static const char alt[] = "dddd-dd-ddTdd:dd:dd";
    uint32_t k = 0;
    for (; alt[k]; k++) {
        int c = at(lx, i + k);
        if (alt[k] == 'd' ? !is_digit(c) : c != alt[k]) break;
    }
    if (!alt[k]) return 1 + k;
    if ((n = match_designated(lx, i, 'W')) > 0) return 1 + n;
    uint32_t date = 0;
    if ((n = match_designated(lx, i, 'Y')) > 0) {
        date = n;
        uint32_t m = match_designated(lx, i + date, 'M');
        date += m;
        date += match_designated(lx, i + date, 'D');
    } else if ((n = match_designated(lx, i, 'M')) > 0) {
        date = n + match_designated(lx, i + n, 'D');
    } else if ((n = match_designated(lx, i, 'D')) > 0) {
        date = n;
    }
    i += date;
    uint32_t time = 0;
    if (at(lx, i) == 'T') {
        uint32_t t = i + 1;
        if ((n = match_designated(lx, t, 'H')) > 0) {
            time = 1 + n;
            uint32_t m = match_designated(lx, t + n, 'M');
            time += m;
            time += match_designated(lx, t + n + m, 'S');
        } else if ((n = match_designated(lx, t, 'M')) > 0) {
            time = 1 + n + match_designated(lx, t + n, 'S');
        } else if ((n = match_designated(lx, t, 'S')) > 0) {
            time = 1 + n;
        }
    }
    if (date == 0 && time == 0) return 0;
    return 1 + date + time;
}

/* Case-insensitive match of word at off, not followed by an identifier character. */
static bool match_word(const sl_cql_lexer *lx, uint32_t off, const char *word)
{
    size_t n = strlen(word);
    for (size_t i = 0; i < n; i++)
        if ((at(lx, off + (uint32_t)i) | 0x20) != word[i]) return false;
    return !is_ident_char(at(lx, off + (uint32_t)n));
}

/* A number starting at lx->off (a digit, or '-' then a digit): INTEGER, FLOAT, DURATION or HEX;
 * uuids were ruled out by the caller. */
static void lex_number(sl_cql_lexer *lx, sl_cql_token *t)
{
    uint32_t s = lx->off, i = s;
    if (at(lx, i) == '-') i++;
    uint32_t d0 = i;
    uint32_t dur = match_unit_duration(lx, d0);
    if (at(lx, s) != '-' && at(lx, i) == '0' && (at(lx, i + 1) | 0x20) == 'x') {
        i += 2;
        while (is_hex(at(lx, i)))
            i++;
        t->kind = SL_CQL_TOK_HEX;
        skip(lx, i - s);
        return;
    }
    while (is_digit(at(lx, i)))
        i++;
    uint32_t int_end = i;
    bool is_float = false;
    if (at(lx, i) == '.' && at(lx, i + 1) != '.') {
        /* "1." and "1.5" are floats; "1..2" is INTEGER RANGE INTEGER. */
        is_float = true;
        i++;
        while (is_digit(at(lx, i)))
            i++;
    }
    if ((at(lx, i) | 0x20) == 'e') {
        uint32_t e = i + 1;
        if (at(lx, e) == '+' || at(lx, e) == '-') e++;
        if (is_digit(at(lx, e))) {
            while (is_digit(at(lx, e)))
                e++;
            is_float = true;
            i = e;
        }
    }
    /* Longest match wins, as in ANTLR: "1h30m" is a duration, "1.5" a float. */
    if (dur > 0 && d0 + dur > i) {
        t->kind = SL_CQL_TOK_DURATION;
        skip(lx, d0 + dur - s);
        return;
    }
    t->kind = is_float ? SL_CQL_TOK_FLOAT : SL_CQL_TOK_INTEGER;
    skip(lx, (is_float ? i : int_end) - s);
}

int sl_cql_lex_next(sl_cql_lexer *lx, sl_cql_token *t, sl_cql_parse_error *err)
{
    for (;;) {
        int c = at(lx, lx->off);
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            step(lx);
            continue;
        }
        if ((c == '-' && at(lx, lx->off + 1) == '-') || (c == '/' && at(lx, lx->off + 1) == '/')) {
            while (lx->off < lx->len && lx->src[lx->off] != '\n' && lx->src[lx->off] != '\r')
                lx->off++;
            continue;
        }
        if (c == '/' && at(lx, lx->off + 1) == '*') {
            skip(lx, 2);
            for (;;) {
                if (lx->off >= lx->len)
                    return lex_error(lx, err, "mismatched character '<EOF>' expecting '*'");
                if (lx->src[lx->off] == '*' && at(lx, lx->off + 1) == '/') {
                    skip(lx, 2);
                    break;
                }
                step(lx);
            }
            continue;
        }
        break;
    }

    t->off = lx->off;
    t->line = lx->line;
    t->col = lx->off - lx->line_start;
    t->kw = SL_CQL_KW_NONE;
    t->escapes = false;
    t->dollar = false;
    uint32_t s = lx->off;
    int c = at(lx, s);
    int c1 = at(lx, s + 1);

    if (c < 0) {
        t->kind = SL_CQL_TOK_EOF;
        t->len = 0;
        return 0;
    }

    if (is_hex(c)) {
        uint32_t u = match_uuid(lx, s);
        if (u > 0) {
            t->kind = SL_CQL_TOK_UUID;
            skip(lx, u);
            goto done;
        }
    }

    if (is_digit(c) || (c == '-' && is_digit(c1))) {
        lex_number(lx, t);
        goto done;
    }

    if (c == '-' && (c1 == 'P' || (c1 == 'n' || c1 == 'N') || (c1 == 'i' || c1 == 'I'))) {
        uint32_t iso = match_iso_duration(lx, s + 1);
        if (iso > 0) {
            t->kind = SL_CQL_TOK_DURATION;
            skip(lx, 1 + iso);
            goto done;
        }
        if (match_word(lx, s + 1, "nan")) {
            t->kind = SL_CQL_TOK_FLOAT;
            skip(lx, 4);
            goto done;
        }
        if (match_word(lx, s + 1, "infinity")) {
            t->kind = SL_CQL_TOK_FLOAT;
            skip(lx, 9);
            goto done;
        }
    }

    if (is_letter(c)) {
        uint32_t i = s + 1;
        while (is_ident_char(at(lx, i)))
            i++;
        uint32_t iso = c == 'P' ? match_iso_duration(lx, s) : 0;
        if (iso >= i - s) {
            /* Equal length: DURATION comes before IDENT in Cassandra's lexer. */
            t->kind = SL_CQL_TOK_DURATION;
            skip(lx, iso);
            goto done;
        }
        skip(lx, i - s);
        uint32_t n = i - s;
        if ((n == 4 && match_word(lx, s, "true")) || (n == 5 && match_word(lx, s, "false"))) {
            t->kind = SL_CQL_TOK_BOOLEAN;
            goto done;
        }
        t->kind = SL_CQL_TOK_IDENT;
        t->kw = (uint16_t)sl_cql_keyword(lx->src + s, n);
        goto done;
    }

    if (c == '\'') {
        step(lx);
        for (;;) {
            if (lx->off >= lx->len)
                return lex_error(lx, err, "mismatched character '<EOF>' expecting '''");
            if (lx->src[lx->off] == '\'') {
                if (at(lx, lx->off + 1) == '\'') {
                    t->escapes = true;
                    skip(lx, 2);
                    continue;
                }
                skip(lx, 1);
                break;
            }
            step(lx);
        }
        t->kind = SL_CQL_TOK_STRING;
        goto done;
    }

    if (c == '$' && c1 == '$') {
        skip(lx, 2);
        for (;;) {
            if (lx->off >= lx->len)
                return lex_error(lx, err, "mismatched character '<EOF>' expecting '$'");
            if (lx->src[lx->off] == '$' && at(lx, lx->off + 1) == '$') {
                skip(lx, 2);
                break;
            }
            step(lx);
        }
        t->kind = SL_CQL_TOK_STRING;
        t->dollar = true;
        goto done;
    }

    if (c == '"') {
        if (c1 == '"' && at(lx, s + 2) != '"') {
            t->kind = SL_CQL_TOK_EMPTY_QNAME;
            skip(lx, 2);
            goto done;
        }
        step(lx);
        for (;;) {
            if (lx->off >= lx->len)
                return lex_error(lx, err, "mismatched character '<EOF>' expecting '\"'");
            if (lx->src[lx->off] == '"') {
                if (at(lx, lx->off + 1) == '"') {
                    t->escapes = true;
                    skip(lx, 2);
                    continue;
                }
                skip(lx, 1);
                break;
            }
            step(lx);
        }
        t->kind = SL_CQL_TOK_QNAME;
        goto done;
    }

    uint32_t n = 1;
    switch (c) {
    case '?': t->kind = SL_CQL_TOK_QMARK; break;
    case '(': t->kind = SL_CQL_TOK_LPAREN; break;
    case ')': t->kind = SL_CQL_TOK_RPAREN; break;
    case '[': t->kind = SL_CQL_TOK_LBRACKET; break;
    case ']': t->kind = SL_CQL_TOK_RBRACKET; break;
    case '{': t->kind = SL_CQL_TOK_LBRACE; break;
    case '}': t->kind = SL_CQL_TOK_RBRACE; break;
    case ',': t->kind = SL_CQL_TOK_COMMA; break;
    case ';': t->kind = SL_CQL_TOK_SEMI; break;
    case ':': t->kind = SL_CQL_TOK_COLON; break;
    case '*': t->kind = SL_CQL_TOK_STAR; break;
    case '/': t->kind = SL_CQL_TOK_SLASH; break;
    case '%': t->kind = SL_CQL_TOK_PERCENT; break;
    case '=': t->kind = SL_CQL_TOK_EQ; break;
    case '.':
        if (c1 == '.') {
            t->kind = SL_CQL_TOK_RANGE;
            n = 2;
        } else {
            t->kind = SL_CQL_TOK_DOT;
        }
        break;
    case '<':
        if (c1 == '=') {
            t->kind = SL_CQL_TOK_LTE;
            n = 2;
        } else {
            t->kind = SL_CQL_TOK_LT;
        }
        break;
    case '>':
        if (c1 == '=') {
            t->kind = SL_CQL_TOK_GTE;
            n = 2;
        } else {
            t->kind = SL_CQL_TOK_GT;
        }
        break;
    case '!':
        if (c1 != '=') goto bad_char;
        t->kind = SL_CQL_TOK_NEQ;
        n = 2;
        break;
    case '+':
        if (c1 == '=') {
            t->kind = SL_CQL_TOK_PLUS_EQ;
            n = 2;
        } else {
            t->kind = SL_CQL_TOK_PLUS;
        }
        break;
    case '-':
        if (c1 == '=') {
            t->kind = SL_CQL_TOK_MINUS_EQ;
            n = 2;
        } else {
            t->kind = SL_CQL_TOK_MINUS;
        }
        break;
    default: goto bad_char;
    }
    skip(lx, n);
done:
    t->len = lx->off - s;
    return 0;

bad_char:;
    char what[64];
    if (c >= 0x20 && c < 0x7f)
        snprintf(what, sizeof what, "no viable alternative at character '%c'", c);
    else
        snprintf(what, sizeof what, "no viable alternative at character '\\x%02x'", c);
    return lex_error(lx, err, what);
}
