/* assets.h: the console's web files, embedded at build time (tools/embed_assets.cmake). */
#ifndef SL_CONSOLE_ASSETS_H
#define SL_CONSOLE_ASSETS_H

#include <stddef.h>

typedef struct sl_asset {
    const char *name; /* file name under src/console/assets/, e.g. "app.js"; NULL ends */
    const unsigned char *data;
    size_t len;
} sl_asset;

/* Every embedded file, sorted by name, ending with a NULL name (generated). */
extern const sl_asset sl_console_assets[];

/* The asset of that exact name, or NULL. Only names in the table match: no path is ever
 * resolved, so nothing outside the embedded files can be served. */
const sl_asset *sl_console_asset_find(const char *name);
/* The Content-Type for an asset's name, by its extension. */
const char *sl_console_asset_type(const char *name);

#endif
