/* rocksdb_dl.c: librocksdb is loaded with dlopen the first time the store calls it, not linked.
 * Of sluice's components only the CQL store uses RocksDB, and merely mapping the library (its
 * relocation tables and some 200 C++ static constructors) made 6.3 MiB of it resident in every
 * sluice process: the scheduler, the console and the processors paid for a store they never
 * open (docs/design.md, "Libraries loaded on demand"). Each RocksDB C function the store, its
 * tests and benchmarks call is defined here with the header's own signature (the compiler
 * checks it against <rocksdb/c.h>) and forwards to the library's, looked up on its first call. */
#include <dlfcn.h>
#include <pthread.h>
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef SL_ROCKSDB_SONAME
#define SL_ROCKSDB_SONAME "librocksdb.so"
#endif

static void *rdb_handle;
static pthread_once_t rdb_once = PTHREAD_ONCE_INIT;

/* Without the library (or with one lacking a function) the store cannot run at all: the same
 * outcome as a binary linked to a missing library, but only for the store, and named. */
static void rdb_open(void)
{
    rdb_handle = dlopen(SL_ROCKSDB_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!rdb_handle) {
        fprintf(stderr, "sluice: the store needs %s: %s\n", SL_ROCKSDB_SONAME, dlerror());
        abort();
    }
}

static void *rdb_sym(const char *name)
{
    pthread_once(&rdb_once, rdb_open);
    void *p = dlsym(rdb_handle, name);
    if (!p) {
        fprintf(stderr, "sluice: %s lacks %s: %s\n", SL_ROCKSDB_SONAME, name, dlerror());
        abort();
    }
    return p;
}

/* The function's address is cached after its first lookup; threads racing on a first call
 * look it up alike and store the same value. */
#define RDB_FN(f)                                                                                  \
    static __typeof__(f) *fn;                                                                      \
    __typeof__(f) *p = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);                                     \
    if (!p) {                                                                                      \
        *(void **)&p = rdb_sym(#f);                                                                \
        __atomic_store_n(&fn, p, __ATOMIC_RELEASE);                                                \
    }
#define RDB_FWD(ret, f, params, args)                                                              \
    ret f params                                                                                   \
    {                                                                                              \
        RDB_FN(f)                                                                                  \
        return p args;                                                                             \
    }
#define RDB_FWD_VOID(f, params, args)                                                              \
    void f params                                                                                  \
    {                                                                                              \
        RDB_FN(f)                                                                                  \
        p args;                                                                                    \
    }

RDB_FWD(rocksdb_block_based_table_options_t *, rocksdb_block_based_options_create, (void), ())
RDB_FWD_VOID(rocksdb_block_based_options_destroy, (rocksdb_block_based_table_options_t * options),
             (options))
RDB_FWD_VOID(rocksdb_block_based_options_set_block_cache,
             (rocksdb_block_based_table_options_t * options, rocksdb_cache_t *block_cache),
             (options, block_cache))
RDB_FWD_VOID(rocksdb_block_based_options_set_cache_index_and_filter_blocks,
             (rocksdb_block_based_table_options_t * a0, unsigned char a1), (a0, a1))
RDB_FWD_VOID(rocksdb_block_based_options_set_filter_policy,
             (rocksdb_block_based_table_options_t * options, rocksdb_filterpolicy_t *filter_policy),
             (options, filter_policy))
RDB_FWD_VOID(rocksdb_block_based_options_set_pin_l0_filter_and_index_blocks_in_cache,
             (rocksdb_block_based_table_options_t * a0, unsigned char a1), (a0, a1))
RDB_FWD(rocksdb_cache_t *, rocksdb_cache_create_lru, (size_t capacity), (capacity))
RDB_FWD_VOID(rocksdb_cache_destroy, (rocksdb_cache_t * cache), (cache))
RDB_FWD_VOID(rocksdb_cancel_all_background_work, (rocksdb_t * db, unsigned char wait), (db, wait))
RDB_FWD_VOID(rocksdb_close, (rocksdb_t * db), (db))
RDB_FWD_VOID(rocksdb_column_family_handle_destroy, (rocksdb_column_family_handle_t * a0), (a0))
RDB_FWD_VOID(rocksdb_compact_range_cf_opt,
             (rocksdb_t * db, rocksdb_column_family_handle_t *column_family,
              rocksdb_compactoptions_t *opt, const char *start_key, size_t start_key_len,
              const char *limit_key, size_t limit_key_len),
             (db, column_family, opt, start_key, start_key_len, limit_key, limit_key_len))
RDB_FWD(rocksdb_compactionfilter_t *, rocksdb_compactionfilter_create,
        (void *state, void (*destructor)(void *),
         unsigned char (*filter)(void *, int level, const char *key, size_t key_length,
                                 const char *existing_value, size_t value_length, char **new_value,
                                 size_t *new_value_length, unsigned char *value_changed),
         const char *(*name)(void *)),
        (state, destructor, filter, name))
RDB_FWD(unsigned char, rocksdb_compactionfiltercontext_is_full_compaction,
        (rocksdb_compactionfiltercontext_t * context), (context))
RDB_FWD(rocksdb_compactionfilterfactory_t *, rocksdb_compactionfilterfactory_create,
        (void *state, void (*destructor)(void *),
         rocksdb_compactionfilter_t *(*create_compaction_filter)(
             void *, rocksdb_compactionfiltercontext_t *context),
         const char *(*name)(void *)),
        (state, destructor, create_compaction_filter, name))
RDB_FWD(rocksdb_compactoptions_t *, rocksdb_compactoptions_create, (void), ())
RDB_FWD_VOID(rocksdb_compactoptions_destroy, (rocksdb_compactoptions_t * a0), (a0))
RDB_FWD_VOID(rocksdb_compactoptions_set_bottommost_level_compaction,
             (rocksdb_compactoptions_t * a0, unsigned char a1), (a0, a1))
RDB_FWD_VOID(rocksdb_compactoptions_set_exclusive_manual_compaction,
             (rocksdb_compactoptions_t * a0, unsigned char a1), (a0, a1))
RDB_FWD(rocksdb_iterator_t *, rocksdb_create_iterator_cf,
        (rocksdb_t * db, const rocksdb_readoptions_t *options,
         rocksdb_column_family_handle_t *column_family),
        (db, options, column_family))
RDB_FWD_VOID(rocksdb_delete_file_in_range_cf,
             (rocksdb_t * db, rocksdb_column_family_handle_t *column_family, const char *start_key,
              size_t start_key_len, const char *limit_key, size_t limit_key_len, char **errptr),
             (db, column_family, start_key, start_key_len, limit_key, limit_key_len, errptr))
RDB_FWD_VOID(rocksdb_disable_manual_compaction, (rocksdb_t * db), (db))
RDB_FWD(rocksdb_filterpolicy_t *, rocksdb_filterpolicy_create_bloom_full, (double bits_per_key),
        (bits_per_key))
RDB_FWD_VOID(rocksdb_flush_cf,
             (rocksdb_t * db, const rocksdb_flushoptions_t *options,
              rocksdb_column_family_handle_t *column_family, char **errptr),
             (db, options, column_family, errptr))
RDB_FWD_VOID(rocksdb_flush_wal, (rocksdb_t * db, unsigned char sync, char **errptr),
             (db, sync, errptr))
RDB_FWD(rocksdb_flushoptions_t *, rocksdb_flushoptions_create, (void), ())
RDB_FWD_VOID(rocksdb_flushoptions_destroy, (rocksdb_flushoptions_t * a0), (a0))
RDB_FWD_VOID(rocksdb_flushoptions_set_wait, (rocksdb_flushoptions_t * a0, unsigned char a1),
             (a0, a1))
RDB_FWD(char *, rocksdb_get_cf,
        (rocksdb_t * db, const rocksdb_readoptions_t *options,
         rocksdb_column_family_handle_t *column_family, const char *key, size_t keylen,
         size_t *vallen, char **errptr),
        (db, options, column_family, key, keylen, vallen, errptr))
RDB_FWD_VOID(rocksdb_iter_destroy, (rocksdb_iterator_t * a0), (a0))
RDB_FWD_VOID(rocksdb_iter_get_error, (const rocksdb_iterator_t *a0, char **errptr), (a0, errptr))
RDB_FWD(const char *, rocksdb_iter_key, (const rocksdb_iterator_t *a0, size_t *klen), (a0, klen))
RDB_FWD_VOID(rocksdb_iter_next, (rocksdb_iterator_t * a0), (a0))
RDB_FWD_VOID(rocksdb_iter_prev, (rocksdb_iterator_t * a0), (a0))
RDB_FWD_VOID(rocksdb_iter_seek, (rocksdb_iterator_t * a0, const char *k, size_t klen),
             (a0, k, klen))
RDB_FWD_VOID(rocksdb_iter_seek_for_prev, (rocksdb_iterator_t * a0, const char *k, size_t klen),
             (a0, k, klen))
RDB_FWD_VOID(rocksdb_iter_seek_to_first, (rocksdb_iterator_t * a0), (a0))
RDB_FWD(unsigned char, rocksdb_iter_valid, (const rocksdb_iterator_t *a0), (a0))
RDB_FWD(const char *, rocksdb_iter_value, (const rocksdb_iterator_t *a0, size_t *vlen), (a0, vlen))
RDB_FWD(rocksdb_mergeoperator_t *, rocksdb_mergeoperator_create,
        (void *state, void (*destructor)(void *),
         char *(*full_merge)(void *, const char *key, size_t key_length, const char *existing_value,
                             size_t existing_value_length, const char *const *operands_list,
                             const size_t *operands_list_length, int num_operands,
                             unsigned char *success, size_t *new_value_length),
         char *(*partial_merge)(void *, const char *key, size_t key_length,
                                const char *const *operands_list,
                                const size_t *operands_list_length, int num_operands,
                                unsigned char *success, size_t *new_value_length),
         void (*delete_value)(void *, const char *value, size_t value_length),
         const char *(*name)(void *)),
        (state, destructor, full_merge, partial_merge, delete_value, name))
RDB_FWD(rocksdb_t *, rocksdb_open,
        (const rocksdb_options_t *options, const char *name, char **errptr),
        (options, name, errptr))
RDB_FWD(rocksdb_t *, rocksdb_open_column_families,
        (const rocksdb_options_t *options, const char *name, int num_column_families,
         const char *const *column_family_names,
         const rocksdb_options_t *const *column_family_options,
         rocksdb_column_family_handle_t **column_family_handles, char **errptr),
        (options, name, num_column_families, column_family_names, column_family_options,
         column_family_handles, errptr))
RDB_FWD(rocksdb_options_t *, rocksdb_options_create, (void), ())
RDB_FWD_VOID(rocksdb_options_destroy, (rocksdb_options_t * a0), (a0))
RDB_FWD_VOID(rocksdb_options_increase_parallelism, (rocksdb_options_t * opt, int total_threads),
             (opt, total_threads))
RDB_FWD_VOID(rocksdb_options_set_block_based_table_factory,
             (rocksdb_options_t * opt, rocksdb_block_based_table_options_t *table_options),
             (opt, table_options))
RDB_FWD_VOID(rocksdb_options_set_compaction_filter_factory,
             (rocksdb_options_t * a0, rocksdb_compactionfilterfactory_t *a1), (a0, a1))
RDB_FWD_VOID(rocksdb_options_set_compression, (rocksdb_options_t * a0, int a1), (a0, a1))
RDB_FWD_VOID(rocksdb_options_set_compression_per_level,
             (rocksdb_options_t * opt, const int *level_values, size_t num_levels),
             (opt, level_values, num_levels))
RDB_FWD_VOID(rocksdb_options_set_create_if_missing, (rocksdb_options_t * a0, unsigned char a1),
             (a0, a1))
RDB_FWD_VOID(rocksdb_options_set_create_missing_column_families,
             (rocksdb_options_t * a0, unsigned char a1), (a0, a1))
RDB_FWD_VOID(rocksdb_options_set_info_log_level, (rocksdb_options_t * a0, int a1), (a0, a1))
RDB_FWD_VOID(rocksdb_options_set_level_compaction_dynamic_level_bytes,
             (rocksdb_options_t * a0, unsigned char a1), (a0, a1))
RDB_FWD_VOID(rocksdb_options_set_manual_wal_flush, (rocksdb_options_t * opt, unsigned char a1),
             (opt, a1))
RDB_FWD_VOID(rocksdb_options_set_max_background_jobs, (rocksdb_options_t * a0, int a1), (a0, a1))
RDB_FWD_VOID(rocksdb_options_set_max_subcompactions, (rocksdb_options_t * a0, uint32_t a1),
             (a0, a1))
RDB_FWD_VOID(rocksdb_options_set_max_write_buffer_number, (rocksdb_options_t * a0, int a1),
             (a0, a1))
RDB_FWD_VOID(rocksdb_options_set_merge_operator,
             (rocksdb_options_t * a0, rocksdb_mergeoperator_t *a1), (a0, a1))
RDB_FWD_VOID(rocksdb_options_set_write_buffer_size, (rocksdb_options_t * a0, size_t a1), (a0, a1))
RDB_FWD_VOID(rocksdb_put,
             (rocksdb_t * db, const rocksdb_writeoptions_t *options, const char *key, size_t keylen,
              const char *val, size_t vallen, char **errptr),
             (db, options, key, keylen, val, vallen, errptr))
RDB_FWD(rocksdb_readoptions_t *, rocksdb_readoptions_create, (void), ())
RDB_FWD_VOID(rocksdb_readoptions_destroy, (rocksdb_readoptions_t * a0), (a0))
RDB_FWD_VOID(rocksdb_readoptions_set_iterate_lower_bound,
             (rocksdb_readoptions_t * a0, const char *key, size_t keylen), (a0, key, keylen))
RDB_FWD_VOID(rocksdb_readoptions_set_iterate_upper_bound,
             (rocksdb_readoptions_t * a0, const char *key, size_t keylen), (a0, key, keylen))
RDB_FWD_VOID(rocksdb_set_perf_level, (int a0), (a0))
RDB_FWD_VOID(rocksdb_write,
             (rocksdb_t * db, const rocksdb_writeoptions_t *options, rocksdb_writebatch_t *batch,
              char **errptr),
             (db, options, batch, errptr))
RDB_FWD_VOID(rocksdb_writebatch_clear, (rocksdb_writebatch_t * a0), (a0))
RDB_FWD(int, rocksdb_writebatch_count, (rocksdb_writebatch_t * a0), (a0))
RDB_FWD(rocksdb_writebatch_t *, rocksdb_writebatch_create, (void), ())
RDB_FWD_VOID(rocksdb_writebatch_delete_cf,
             (rocksdb_writebatch_t * a0, rocksdb_column_family_handle_t *column_family,
              const char *key, size_t klen),
             (a0, column_family, key, klen))
RDB_FWD_VOID(rocksdb_writebatch_delete_range_cf,
             (rocksdb_writebatch_t * b, rocksdb_column_family_handle_t *column_family,
              const char *start_key, size_t start_key_len, const char *end_key, size_t end_key_len),
             (b, column_family, start_key, start_key_len, end_key, end_key_len))
RDB_FWD_VOID(rocksdb_writebatch_destroy, (rocksdb_writebatch_t * a0), (a0))
RDB_FWD_VOID(rocksdb_writebatch_merge_cf,
             (rocksdb_writebatch_t * a0, rocksdb_column_family_handle_t *column_family,
              const char *key, size_t klen, const char *val, size_t vlen),
             (a0, column_family, key, klen, val, vlen))
RDB_FWD_VOID(rocksdb_writebatch_put_cf,
             (rocksdb_writebatch_t * a0, rocksdb_column_family_handle_t *column_family,
              const char *key, size_t klen, const char *val, size_t vlen),
             (a0, column_family, key, klen, val, vlen))
RDB_FWD(rocksdb_writeoptions_t *, rocksdb_writeoptions_create, (void), ())
RDB_FWD_VOID(rocksdb_writeoptions_destroy, (rocksdb_writeoptions_t * a0), (a0))
RDB_FWD_VOID(rocksdb_writeoptions_set_sync, (rocksdb_writeoptions_t * a0, unsigned char a1),
             (a0, a1))
