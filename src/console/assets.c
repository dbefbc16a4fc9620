/* assets.c: lookups in the embedded asset table. */
#include "console/assets.h"

#include <string.h>

const sl_asset *sl_console_asset_find(const char *name)
{
    for (const sl_asset *a = sl_console_assets; a->name; a++)
        if (!strcmp(a->name, name)) return a;
    return NULL;
}

const char *sl_console_asset_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(dot, types[i].ext)) return types[i].type;
    return "application/octet-stream";
}
