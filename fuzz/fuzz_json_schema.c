/* fuzz_json_schema.c: one JSON schema text through the registry's parser (sl_regschema_parse).
 * Any input must end in a schema or a refusal with a reason; a schema's canonical text must parse
 * again to the same canonical text. A second document that means the same but is written
 * differently (keys in reverse order, and the root's keywords moved into an allOf part, or the
 * root's first allOf part inlined) must also parse to a schema, and each must read the other:
 * the compatibility check walks both whole, the writer's allOf flattening included, and has no
 * equality shortcut to hide behind. Never a crash, a leak or a read past the input: the text is
 * copied into an exact-size buffer, so ASan catches overreads. */
#include "fuzz.h"

#include "registry/schema.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* j with every object's keys inserted in reverse order (jansson keeps insertion order). */
static json_t *reversed(const json_t *j)
{
    if (json_is_array(j)) {
        json_t *a = json_array();
        for (size_t i = 0; i < json_array_size(j); i++)
            json_array_append_new(a, reversed(json_array_get(j, i)));
        return a;
    }
    if (!json_is_object(j)) return json_deep_copy(j);
    size_t n = json_object_size(j), i = 0;
    const char **keys = malloc((n ? n : 1) * sizeof *keys);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)j, k, v) keys[i++] = k;
    json_t *o = json_object();
    while (i > 0) {
        i--;
        json_object_set_new(o, keys[i], reversed(json_object_get(j, keys[i])));
    }
    free(keys);
    return o;
}

/* True if every local $ref is "#", under "#/definitions/" or a "#name" anchor: those still name
 * the same schema after the root's keywords move into (or out of) an allOf part. */
static bool refs_movable(const json_t *j)
{
    if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++)
            if (!refs_movable(json_array_get(j, i))) return false;
        return true;
    }
    if (!json_is_object(j)) return true;
    const char *ref = json_string_value(json_object_get(j, "$ref"));
    if (ref && ref[0] == '#' && ref[1] && strncmp(ref, "#/definitions/", 14) && strchr(ref, '/'))
        return false;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)j, k, v)
    {
        if (!refs_movable(v)) return false;
    }
    return true;
}

static bool stays_at_root(const char *k)
{
    return !strcmp(k, "$id") || !strcmp(k, "$schema") || !strcmp(k, "definitions");
}

/* An equivalent of root (an object without $ref): its first allOf part inlined when that part's
 * keywords are all new to the root, else the root's keywords moved into a first allOf part. */
static json_t *restructured(json_t *root)
{
    json_t *all = json_object_get(root, "allOf");
    json_t *first = json_array_get(all, 0);
    const char *k;
    json_t *v;
    bool inline_ok = json_is_object(first) && !json_object_get(first, "$ref");
    if (inline_ok) json_object_foreach(first, k, v)
        {
            if (json_object_get(root, k) || stays_at_root(k)) inline_ok = false;
        }
    json_t *out = json_object();
    if (inline_ok) {
        json_object_update(out, root);
        json_object_update(out, first);
        json_t *rest = json_array();
        for (size_t i = 1; i < json_array_size(all); i++)
            json_array_append(rest, json_array_get(all, i));
        if (json_array_size(rest))
            json_object_set_new(out, "allOf", rest);
        else {
            json_decref(rest);
            json_object_del(out, "allOf");
        }
        return out;
    }
    json_t *part = json_object(), *parts = json_array();
    json_object_foreach(root, k, v)
    {
        if (stays_at_root(k))
            json_object_set(out, k, v);
        else if (strcmp(k, "allOf"))
            json_object_set(part, k, v);
    }
    json_array_append_new(parts, part);
    for (size_t i = 0; i < json_array_size(all); i++)
        json_array_append(parts, json_array_get(all, i));
    json_object_set_new(out, "allOf", parts);
    return out;
}

static bool reads_silently(const sl_regschema *r, const sl_regschema *w)
{
    char **msgs = NULL;
    size_t n = 0;
    bool ok = sl_regschema_can_read(r, w, &msgs, &n);
    for (size_t i = 0; i < n; i++)
        free(msgs[i]);
    free(msgs);
    return ok && n == 0;
}

/* The equivalent document of canon, or NULL when none is built (the root is not an object, has
 * a $ref, or holds pointers that moving keywords would break). */
static char *equivalent(const char *canon)
{
    json_t *root = json_loads(canon, JSON_DECODE_ANY, NULL);
    if (!root) abort();
    char *text = NULL;
    if (json_is_object(root) && !json_object_get(root, "$ref") && refs_movable(root)) {
        json_t *moved = restructured(root), *rev = reversed(moved);
        text = json_dumps(rev, JSON_COMPACT | JSON_ENCODE_ANY);
        json_decref(rev);
        json_decref(moved);
    }
    json_decref(root);
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    sl_regschema *s = NULL;
    char err[512] = "";
    int rc = sl_regschema_parse(SL_SCHEMA_JSON, copy, size, &s, err, sizeof err);
    free(copy);
    if (rc) {
        if (s || !err[0]) abort();
        return 0;
    }
    const char *canon = sl_regschema_canonical(s);
    sl_regschema *again = NULL;
    if (sl_regschema_parse(SL_SCHEMA_JSON, canon, strlen(canon), &again, err, sizeof err) ||
        strcmp(sl_regschema_canonical(again), canon))
        abort();
    if (!reads_silently(s, again) || !reads_silently(again, s)) abort();
    sl_regschema_free(again);

    char *text = equivalent(canon);
    if (text) {
        sl_regschema *eq = NULL;
        rc = sl_regschema_parse(SL_SCHEMA_JSON, text, strlen(text), &eq, err, sizeof err);
        /* one more level of nesting may pass the depth limit; nothing else may fail */
        if (rc && !strstr(err, "deeper")) abort();
        if (!rc && (!reads_silently(s, eq) || !reads_silently(eq, s))) abort();
        sl_regschema_free(eq);
        free(text);
    }
    sl_regschema_free(s);
    return 0;
}
