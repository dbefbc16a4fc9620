/* test_assets.c: the embedded asset table: every file of src/console/assets/ is in it byte for
 * byte, sorted; lookups match exact names only (no path resolution); content types. */
#include "console/assets.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static void test_every_file_embedded(void **state)
{
    (void)state;
    const char *src = getenv("SLUICE_SOURCE_DIR");
    if (!src) skip();
    char path[1024];
    snprintf(path, sizeof path, "%s/src/console/assets", src);
    DIR *d = opendir(path);
    assert_non_null(d);
    size_t files = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        files++;
        const sl_asset *a = sl_console_asset_find(e->d_name);
        assert_non_null(a);
        char fp[1300];
        snprintf(fp, sizeof fp, "%s/%s", path, e->d_name);
        FILE *f = fopen(fp, "rb");
        assert_non_null(f);
        unsigned char *buf = malloc(a->len + 1);
        assert_int_equal(fread(buf, 1, a->len + 1, f), a->len);
        assert_memory_equal(buf, a->data, a->len);
        free(buf);
        fclose(f);
    }
    closedir(d);
    size_t n = 0;
    for (const sl_asset *a = sl_console_assets; a->name; a++, n++)
        if (a > sl_console_assets) assert_true(strcmp(a[-1].name, a->name) < 0);
    assert_int_equal(n, files);
}

static void test_exact_names_only(void **state)
{
    (void)state;
    assert_non_null(sl_console_asset_find("app.js"));
    assert_null(sl_console_asset_find("./app.js"));
    assert_null(sl_console_asset_find("../assets/app.js"));
    assert_null(sl_console_asset_find("APP.JS"));
    assert_null(sl_console_asset_find(""));
    assert_null(sl_console_asset_find("app.js/"));
}

static void test_types(void **state)
{
    (void)state;
    assert_string_equal(sl_console_asset_type("index.html"), "text/html; charset=utf-8");
    assert_string_equal(sl_console_asset_type("a.b.js"), "text/javascript; charset=utf-8");
    assert_string_equal(sl_console_asset_type("app.css"), "text/css; charset=utf-8");
    assert_string_equal(sl_console_asset_type("x.svg"), "image/svg+xml");
    assert_string_equal(sl_console_asset_type("noext"), "application/octet-stream");
    assert_string_equal(sl_console_asset_type("x.exe"), "application/octet-stream");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_file_embedded),
        cmocka_unit_test(test_exact_names_only),
        cmocka_unit_test(test_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
