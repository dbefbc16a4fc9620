/* rocksdb_dl.c: librocksdb is loaded with dlopen the first time the store calls it, not linked.
 * Of sluice's components only the CQL store uses RocksDB, and merely mapping the library (its
 * relocations and some 200 C++ static constructors) made 6.3 MiB of it, plus 1.4 MiB of
 * libstdc++, resident in every sluice process: the scheduler, the console and the processors
 * paid for a store they never open (docs/design.md, "Libraries loaded on demand"). Each RocksDB
 * C function the store, its tests and benchmarks call is defined here with the header's own
 * signature (the compiler checks it against <rocksdb/c.h>) and forwards to the library's, which
 * is resolved in full on the first call, on whichever thread makes it. */
#include <dlfcn.h>
#include <pthread.h>
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef SL_ROCKSDB_SONAME
#define SL_ROCKSDB_SONAME "librocksdb.so"
#endif

#define RDB_FUNCS(X)                                                                               \
    X(rocksdb_block_based_options_create)                                                          \
    X(rocksdb_block_based_options_destroy)                                                         \
    X(rocksdb_block_based_options_set_block_cache)                                                 \
    X(rocksdb_block_based_options_set_cache_index_and_filter_blocks)                               \
    X(rocksdb_block_based_options_set_filter_policy)                                               \
    X(rocksdb_block_based_options_set_pin_l0_filter_and_index_blocks_in_cache)                     \
    X(rocksdb_cache_create_lru)                                                                    \
    X(rocksdb_cache_destroy)                                                                       \
    X(rocksdb_cancel_all_background_work)                                                          \
    X(rocksdb_close)                                                                               \
    X(rocksdb_column_family_handle_destroy)                                                        \
    X(rocksdb_compact_range_cf_opt)                                                                \
    X(rocksdb_compactionfilter_create)                                                             \
    X(rocksdb_compactionfiltercontext_is_full_compaction)                                          \
    X(rocksdb_compactionfilterfactory_create)                                                      \
    X(rocksdb_compactoptions_create)                                                               \
    X(rocksdb_compactoptions_destroy)                                                              \
    X(rocksdb_compactoptions_set_bottommost_level_compaction)                                      \
    X(rocksdb_compactoptions_set_exclusive_manual_compaction)                                      \
    X(rocksdb_create_iterator_cf)                                                                  \
    X(rocksdb_delete_file_in_range_cf)                                                             \
    X(rocksdb_disable_manual_compaction)                                                           \
    X(rocksdb_filterpolicy_create_bloom_full)                                                      \
    X(rocksdb_flush_cf)                                                                            \
    X(rocksdb_flush_wal)                                                                           \
    X(rocksdb_flushoptions_create)                                                                 \
    X(rocksdb_flushoptions_destroy)                                                                \
    X(rocksdb_flushoptions_set_wait)                                                               \
    X(rocksdb_get_cf)                                                                              \
    X(rocksdb_iter_destroy)                                                                        \
    X(rocksdb_iter_get_error)                                                                      \
    X(rocksdb_iter_key)                                                                            \
    X(rocksdb_iter_next)                                                                           \
    X(rocksdb_iter_prev)                                                                           \
    X(rocksdb_iter_seek)                                                                           \
    X(rocksdb_iter_seek_for_prev)                                                                  \
    X(rocksdb_iter_seek_to_first)                                                                  \
    X(rocksdb_iter_valid)                                                                          \
    X(rocksdb_iter_value)                                                                          \
    X(rocksdb_mergeoperator_create)                                                                \
    X(rocksdb_open)                                                                                \
    X(rocksdb_open_column_families)                                                                \
    X(rocksdb_options_create)                                                                      \
    X(rocksdb_options_destroy)                                                                     \
    X(rocksdb_options_increase_parallelism)                                                        \
    X(rocksdb_options_set_block_based_table_factory)                                               \
    X(rocksdb_options_set_compaction_filter_factory)                                               \
    X(rocksdb_options_set_compression)                                                             \
    X(rocksdb_options_set_compression_per_level)                                                   \
    X(rocksdb_options_set_create_if_missing)                                                       \
    X(rocksdb_options_set_create_missing_column_families)                                          \
    X(rocksdb_options_set_info_log_level)                                                          \
    X(rocksdb_options_set_level_compaction_dynamic_level_bytes)                                    \
    X(rocksdb_options_set_manual_wal_flush)                                                        \
    X(rocksdb_options_set_max_background_jobs)                                                     \
    X(rocksdb_options_set_max_subcompactions)                                                      \
    X(rocksdb_options_set_max_write_buffer_number)                                                 \
    X(rocksdb_options_set_merge_operator)                                                          \
    X(rocksdb_options_set_write_buffer_size)                                                       \
    X(rocksdb_put)                                                                                 \
    X(rocksdb_readoptions_create)                                                                  \
    X(rocksdb_readoptions_destroy)                                                                 \
    X(rocksdb_readoptions_set_iterate_lower_bound)                                                 \
    X(rocksdb_readoptions_set_iterate_upper_bound)                                                 \
    X(rocksdb_set_perf_level)                                                                      \
    X(rocksdb_write)                                                                               \
    X(rocksdb_writebatch_clear)                                                                    \
    X(rocksdb_writebatch_count)                                                                    \
    X(rocksdb_writebatch_create)                                                                   \
    X(rocksdb_writebatch_delete_cf)                                                                \
    X(rocksdb_writebatch_delete_range_cf)                                                          \
    X(rocksdb_writebatch_destroy)                                                                  \
    X(rocksdb_writebatch_merge_cf)                                                                 \
    X(rocksdb_writebatch_put_cf)                                                                   \
    X(rocksdb_writeoptions_create)                                                                 \
    X(rocksdb_writeoptions_destroy)                                                                \
    X(rocksdb_writeoptions_set_sync)

static struct {
#define X(f) __typeof__(f) *f;
    RDB_FUNCS(X)
#undef X
} rdb;

static pthread_once_t rdb_once = PTHREAD_ONCE_INIT;

/* Without the library (or with one lacking a function) the store cannot run at all: the same
 * outcome as a binary linked to a missing library, but only for the store, and named. */
static void rdb_load(void)
{
    void *h = dlopen(SL_ROCKSDB_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "sluice: the store needs %s: %s\n", SL_ROCKSDB_SONAME, dlerror());
        abort();
    }
#define X(f)                                                                                       \
    if (!(*(void **)&rdb.f = dlsym(h, #f))) {                                                      \
        fprintf(stderr, "sluice: %s lacks %s: %s\n", SL_ROCKSDB_SONAME, #f, dlerror());            \
        abort();                                                                                   \
    }
    RDB_FUNCS(X)
#undef X
}

#define RDB_LOAD() pthread_once(&rdb_once, rdb_load)

rocksdb_block_based_table_options_t *rocksdb_block_based_options_create(void)
{
    RDB_LOAD();
    return rdb.rocksdb_block_based_options_create();
}

void rocksdb_block_based_options_destroy(rocksdb_block_based_table_options_t *options)
{
    RDB_LOAD();
    rdb.rocksdb_block_based_options_destroy(options);
}

void rocksdb_block_based_options_set_block_cache(rocksdb_block_based_table_options_t *options,
                                                 rocksdb_cache_t *block_cache)
{
    RDB_LOAD();
    rdb.rocksdb_block_based_options_set_block_cache(options, block_cache);
}

void rocksdb_block_based_options_set_cache_index_and_filter_blocks(
    rocksdb_block_based_table_options_t *a0, unsigned char a1)
{
    RDB_LOAD();
    rdb.rocksdb_block_based_options_set_cache_index_and_filter_blocks(a0, a1);
}

void rocksdb_block_based_options_set_filter_policy(rocksdb_block_based_table_options_t *options,
                                                   rocksdb_filterpolicy_t *filter_policy)
{
    RDB_LOAD();
    rdb.rocksdb_block_based_options_set_filter_policy(options, filter_policy);
}

void rocksdb_block_based_options_set_pin_l0_filter_and_index_blocks_in_cache(
    rocksdb_block_based_table_options_t *a0, unsigned char a1)
{
    RDB_LOAD();
    rdb.rocksdb_block_based_options_set_pin_l0_filter_and_index_blocks_in_cache(a0, a1);
}

rocksdb_cache_t *rocksdb_cache_create_lru(size_t capacity)
{
    RDB_LOAD();
    return rdb.rocksdb_cache_create_lru(capacity);
}

void rocksdb_cache_destroy(rocksdb_cache_t *cache)
{
    RDB_LOAD();
    rdb.rocksdb_cache_destroy(cache);
}

void rocksdb_cancel_all_background_work(rocksdb_t *db, unsigned char wait)
{
    RDB_LOAD();
    rdb.rocksdb_cancel_all_background_work(db, wait);
}

void rocksdb_close(rocksdb_t *db)
{
    RDB_LOAD();
    rdb.rocksdb_close(db);
}

void rocksdb_column_family_handle_destroy(rocksdb_column_family_handle_t *a0)
{
    RDB_LOAD();
    rdb.rocksdb_column_family_handle_destroy(a0);
}

void rocksdb_compact_range_cf_opt(rocksdb_t *db, rocksdb_column_family_handle_t *column_family,
                                  rocksdb_compactoptions_t *opt, const char *start_key,
                                  size_t start_key_len, const char *limit_key, size_t limit_key_len)
{
    RDB_LOAD();
    rdb.rocksdb_compact_range_cf_opt(db, column_family, opt, start_key, start_key_len, limit_key,
                                     limit_key_len);
}

rocksdb_compactionfilter_t *rocksdb_compactionfilter_create(
    void *state, void (*destructor)(void *),
    unsigned char (*filter)(void *, int level, const char *key, size_t key_length,
                            const char *existing_value, size_t value_length, char **new_value,
                            size_t *new_value_length, unsigned char *value_changed),
    const char *(*name)(void *))
{
    RDB_LOAD();
    return rdb.rocksdb_compactionfilter_create(state, destructor, filter, name);
}

unsigned char
rocksdb_compactionfiltercontext_is_full_compaction(rocksdb_compactionfiltercontext_t *context)
{
    RDB_LOAD();
    return rdb.rocksdb_compactionfiltercontext_is_full_compaction(context);
}

rocksdb_compactionfilterfactory_t *
rocksdb_compactionfilterfactory_create(void *state, void (*destructor)(void *),
                                       rocksdb_compactionfilter_t *(*create_compaction_filter)(
                                           void *, rocksdb_compactionfiltercontext_t *context),
                                       const char *(*name)(void *))
{
    RDB_LOAD();
    return rdb.rocksdb_compactionfilterfactory_create(state, destructor, create_compaction_filter,
                                                      name);
}

rocksdb_compactoptions_t *rocksdb_compactoptions_create(void)
{
    RDB_LOAD();
    return rdb.rocksdb_compactoptions_create();
}

void rocksdb_compactoptions_destroy(rocksdb_compactoptions_t *a0)
{
    RDB_LOAD();
    rdb.rocksdb_compactoptions_destroy(a0);
}

void rocksdb_compactoptions_set_bottommost_level_compaction(rocksdb_compactoptions_t *a0,
                                                            unsigned char a1)
{
    RDB_LOAD();
    rdb.rocksdb_compactoptions_set_bottommost_level_compaction(a0, a1);
}

void rocksdb_compactoptions_set_exclusive_manual_compaction(rocksdb_compactoptions_t *a0,
                                                            unsigned char a1)
{
    RDB_LOAD();
    rdb.rocksdb_compactoptions_set_exclusive_manual_compaction(a0, a1);
}

rocksdb_iterator_t *rocksdb_create_iterator_cf(rocksdb_t *db, const rocksdb_readoptions_t *options,
                                               rocksdb_column_family_handle_t *column_family)
{
    RDB_LOAD();
    return rdb.rocksdb_create_iterator_cf(db, options, column_family);
}

void rocksdb_delete_file_in_range_cf(rocksdb_t *db, rocksdb_column_family_handle_t *column_family,
                                     const char *start_key, size_t start_key_len,
                                     const char *limit_key, size_t limit_key_len, char **errptr)
{
    RDB_LOAD();
    rdb.rocksdb_delete_file_in_range_cf(db, column_family, start_key, start_key_len, limit_key,
                                        limit_key_len, errptr);
}

void rocksdb_disable_manual_compaction(rocksdb_t *db)
{
    RDB_LOAD();
    rdb.rocksdb_disable_manual_compaction(db);
}

rocksdb_filterpolicy_t *rocksdb_filterpolicy_create_bloom_full(double bits_per_key)
{
    RDB_LOAD();
    return rdb.rocksdb_filterpolicy_create_bloom_full(bits_per_key);
}

void rocksdb_flush_cf(rocksdb_t *db, const rocksdb_flushoptions_t *options,
                      rocksdb_column_family_handle_t *column_family, char **errptr)
{
    RDB_LOAD();
    rdb.rocksdb_flush_cf(db, options, column_family, errptr);
}

void rocksdb_flush_wal(rocksdb_t *db, unsigned char sync, char **errptr)
{
    RDB_LOAD();
    rdb.rocksdb_flush_wal(db, sync, errptr);
}

rocksdb_flushoptions_t *rocksdb_flushoptions_create(void)
{
    RDB_LOAD();
    return rdb.rocksdb_flushoptions_create();
}

void rocksdb_flushoptions_destroy(rocksdb_flushoptions_t *a0)
{
    RDB_LOAD();
    rdb.rocksdb_flushoptions_destroy(a0);
}

void rocksdb_flushoptions_set_wait(rocksdb_flushoptions_t *a0, unsigned char a1)
{
    RDB_LOAD();
    rdb.rocksdb_flushoptions_set_wait(a0, a1);
}

char *rocksdb_get_cf(rocksdb_t *db, const rocksdb_readoptions_t *options,
                     rocksdb_column_family_handle_t *column_family, const char *key, size_t keylen,
                     size_t *vallen, char **errptr)
{
    RDB_LOAD();
    return rdb.rocksdb_get_cf(db, options, column_family, key, keylen, vallen, errptr);
}

void rocksdb_iter_destroy(rocksdb_iterator_t *a0)
{
    RDB_LOAD();
    rdb.rocksdb_iter_destroy(a0);
}

void rocksdb_iter_get_error(const rocksdb_iterator_t *a0, char **errptr)
{
    RDB_LOAD();
    rdb.rocksdb_iter_get_error(a0, errptr);
}

const char *rocksdb_iter_key(const rocksdb_iterator_t *a0, size_t *klen)
{
    RDB_LOAD();
    return rdb.rocksdb_iter_key(a0, klen);
}

void rocksdb_iter_next(rocksdb_iterator_t *a0)
{
    RDB_LOAD();
    rdb.rocksdb_iter_next(a0);
}

void rocksdb_iter_prev(rocksdb_iterator_t *a0)
{
    RDB_LOAD();
    rdb.rocksdb_iter_prev(a0);
}

void rocksdb_iter_seek(rocksdb_iterator_t *a0, const char *k, size_t klen)
{
    RDB_LOAD();
    rdb.rocksdb_iter_seek(a0, k, klen);
}

void rocksdb_iter_seek_for_prev(rocksdb_iterator_t *a0, const char *k, size_t klen)
{
    RDB_LOAD();
    rdb.rocksdb_iter_seek_for_prev(a0, k, klen);
}

void rocksdb_iter_seek_to_first(rocksdb_iterator_t *a0)
{
    RDB_LOAD();
    rdb.rocksdb_iter_seek_to_first(a0);
}

unsigned char rocksdb_iter_valid(const rocksdb_iterator_t *a0)
{
    RDB_LOAD();
    return rdb.rocksdb_iter_valid(a0);
}

const char *rocksdb_iter_value(const rocksdb_iterator_t *a0, size_t *vlen)
{
    RDB_LOAD();
    return rdb.rocksdb_iter_value(a0, vlen);
}

rocksdb_mergeoperator_t *rocksdb_mergeoperator_create(
    void *state, void (*destructor)(void *),
    char *(*full_merge)(void *, const char *key, size_t key_length, const char *existing_value,
                        size_t existing_value_length, const char *const *operands_list,
                        const size_t *operands_list_length, int num_operands,
                        unsigned char *success, size_t *new_value_length),
    char *(*partial_merge)(void *, const char *key, size_t key_length,
                           const char *const *operands_list, const size_t *operands_list_length,
                           int num_operands, unsigned char *success, size_t *new_value_length),
    void (*delete_value)(void *, const char *value, size_t value_length),
    const char *(*name)(void *))
{
    RDB_LOAD();
    return rdb.rocksdb_mergeoperator_create(state, destructor, full_merge, partial_merge,
                                            delete_value, name);
}

rocksdb_t *rocksdb_open(const rocksdb_options_t *options, const char *name, char **errptr)
{
    RDB_LOAD();
    return rdb.rocksdb_open(options, name, errptr);
}

rocksdb_t *rocksdb_open_column_families(const rocksdb_options_t *options, const char *name,
                                        int num_column_families,
                                        const char *const *column_family_names,
                                        const rocksdb_options_t *const *column_family_options,
                                        rocksdb_column_family_handle_t **column_family_handles,
                                        char **errptr)
{
    RDB_LOAD();
    return rdb.rocksdb_open_column_families(options, name, num_column_families, column_family_names,
                                            column_family_options, column_family_handles, errptr);
}

rocksdb_options_t *rocksdb_options_create(void)
{
    RDB_LOAD();
    return rdb.rocksdb_options_create();
}

void rocksdb_options_destroy(rocksdb_options_t *a0)
{
    RDB_LOAD();
    rdb.rocksdb_options_destroy(a0);
}

void rocksdb_options_increase_parallelism(rocksdb_options_t *opt, int total_threads)
{
    RDB_LOAD();
    rdb.rocksdb_options_increase_parallelism(opt, total_threads);
}

void rocksdb_options_set_block_based_table_factory(
    rocksdb_options_t *opt, rocksdb_block_based_table_options_t *table_options)
{
    RDB_LOAD();
    rdb.rocksdb_options_set_block_based_table_factory(opt, table_options);
}

void rocksdb_options_set_compaction_filter_factory(rocksdb_options_t *a0,
                                                   rocksdb_compactionfilterfactory_t *a1)
{
    RDB_LOAD();
    rdb.rocksdb_options_set_compaction_filter_factory(a0, a1);
}

void rocksdb_options_set_compression(rocksdb_options_t *a0, int a1)
{
    RDB_LOAD();
    rdb.rocksdb_options_set_compression(a0, a1);
}

void rocksdb_options_set_compression_per_level(rocksdb_options_t *opt, const int *level_values,
                                               size_t num_levels)
{
    RDB_LOAD();
    rdb.rocksdb_options_set_compression_per_level(opt, level_values, num_levels);
}

void rocksdb_options_set_create_if_missing(rocksdb_options_t *a0, unsigned char a1)
{
    RDB_LOAD();
    rdb.rocksdb_options_set_create_if_missing(a0, a1);
}

void rocksdb_options_set_create_missing_column_families(rocksdb_options_t *a0, unsigned char a1)
{
    RDB_LOAD();
    rdb.rocksdb_options_set_create_missing_column_families(a0, a1);
}

void rocksdb_options_set_info_log_level(rocksdb_options_t *a0, int a1)
{
    RDB_LOAD();
    rdb.rocksdb_options_set_info_log_level(a0, a1);
}

void rocksdb_options_set_level_compaction_dynamic_level_bytes(rocksdb_options_t *a0,
                                                              unsigned char a1)
{
    RDB_LOAD();
    rdb.rocksdb_options_set_level_compaction_dynamic_level_bytes(a0, a1);
}

void rocksdb_options_set_manual_wal_flush(rocksdb_options_t *opt, unsigned char a1)
{
    RDB_LOAD();
    rdb.rocksdb_options_set_manual_wal_flush(opt, a1);
}

void rocksdb_options_set_max_background_jobs(rocksdb_options_t *a0, int a1)
{
    RDB_LOAD();
    rdb.rocksdb_options_set_max_background_jobs(a0, a1);
}

void rocksdb_options_set_max_subcompactions(rocksdb_options_t *a0, uint32_t a1)
{
    RDB_LOAD();
    rdb.rocksdb_options_set_max_subcompactions(a0, a1);
}

void rocksdb_options_set_max_write_buffer_number(rocksdb_options_t *a0, int a1)
{
    RDB_LOAD();
    rdb.rocksdb_options_set_max_write_buffer_number(a0, a1);
}

void rocksdb_options_set_merge_operator(rocksdb_options_t *a0, rocksdb_mergeoperator_t *a1)
{
    RDB_LOAD();
    rdb.rocksdb_options_set_merge_operator(a0, a1);
}

void rocksdb_options_set_write_buffer_size(rocksdb_options_t *a0, size_t a1)
{
    RDB_LOAD();
    rdb.rocksdb_options_set_write_buffer_size(a0, a1);
}

void rocksdb_put(rocksdb_t *db, const rocksdb_writeoptions_t *options, const char *key,
                 size_t keylen, const char *val, size_t vallen, char **errptr)
{
    RDB_LOAD();
    rdb.rocksdb_put(db, options, key, keylen, val, vallen, errptr);
}

rocksdb_readoptions_t *rocksdb_readoptions_create(void)
{
    RDB_LOAD();
    return rdb.rocksdb_readoptions_create();
}

void rocksdb_readoptions_destroy(rocksdb_readoptions_t *a0)
{
    RDB_LOAD();
    rdb.rocksdb_readoptions_destroy(a0);
}

void rocksdb_readoptions_set_iterate_lower_bound(rocksdb_readoptions_t *a0, const char *key,
                                                 size_t keylen)
{
    RDB_LOAD();
    rdb.rocksdb_readoptions_set_iterate_lower_bound(a0, key, keylen);
}

void rocksdb_readoptions_set_iterate_upper_bound(rocksdb_readoptions_t *a0, const char *key,
                                                 size_t keylen)
{
    RDB_LOAD();
    rdb.rocksdb_readoptions_set_iterate_upper_bound(a0, key, keylen);
}

void rocksdb_set_perf_level(int a0)
{
    RDB_LOAD();
    rdb.rocksdb_set_perf_level(a0);
}

void rocksdb_write(rocksdb_t *db, const rocksdb_writeoptions_t *options,
                   rocksdb_writebatch_t *batch, char **errptr)
{
    RDB_LOAD();
    rdb.rocksdb_write(db, options, batch, errptr);
}

void rocksdb_writebatch_clear(rocksdb_writebatch_t *a0)
{
    RDB_LOAD();
    rdb.rocksdb_writebatch_clear(a0);
}

int rocksdb_writebatch_count(rocksdb_writebatch_t *a0)
{
    RDB_LOAD();
    return rdb.rocksdb_writebatch_count(a0);
}

rocksdb_writebatch_t *rocksdb_writebatch_create(void)
{
    RDB_LOAD();
    return rdb.rocksdb_writebatch_create();
}

void rocksdb_writebatch_delete_cf(rocksdb_writebatch_t *a0,
                                  rocksdb_column_family_handle_t *column_family, const char *key,
                                  size_t klen)
{
    RDB_LOAD();
    rdb.rocksdb_writebatch_delete_cf(a0, column_family, key, klen);
}

void rocksdb_writebatch_delete_range_cf(rocksdb_writebatch_t *b,
                                        rocksdb_column_family_handle_t *column_family,
                                        const char *start_key, size_t start_key_len,
                                        const char *end_key, size_t end_key_len)
{
    RDB_LOAD();
    rdb.rocksdb_writebatch_delete_range_cf(b, column_family, start_key, start_key_len, end_key,
                                           end_key_len);
}

void rocksdb_writebatch_destroy(rocksdb_writebatch_t *a0)
{
    RDB_LOAD();
    rdb.rocksdb_writebatch_destroy(a0);
}

void rocksdb_writebatch_merge_cf(rocksdb_writebatch_t *a0,
                                 rocksdb_column_family_handle_t *column_family, const char *key,
                                 size_t klen, const char *val, size_t vlen)
{
    RDB_LOAD();
    rdb.rocksdb_writebatch_merge_cf(a0, column_family, key, klen, val, vlen);
}

void rocksdb_writebatch_put_cf(rocksdb_writebatch_t *a0,
                               rocksdb_column_family_handle_t *column_family, const char *key,
                               size_t klen, const char *val, size_t vlen)
{
    RDB_LOAD();
    rdb.rocksdb_writebatch_put_cf(a0, column_family, key, klen, val, vlen);
}

rocksdb_writeoptions_t *rocksdb_writeoptions_create(void)
{
    RDB_LOAD();
    return rdb.rocksdb_writeoptions_create();
}

void rocksdb_writeoptions_destroy(rocksdb_writeoptions_t *a0)
{
    RDB_LOAD();
    rdb.rocksdb_writeoptions_destroy(a0);
}

void rocksdb_writeoptions_set_sync(rocksdb_writeoptions_t *a0, unsigned char a1)
{
    RDB_LOAD();
    rdb.rocksdb_writeoptions_set_sync(a0, a1);
}
