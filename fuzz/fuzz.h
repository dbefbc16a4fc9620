/* fuzz.h: the entry point every fuzz/fuzz_<name>.c defines. libFuzzer calls it with each
 * generated input (make fuzz); replay_main.c calls it with each file of fuzz/corpus/<name>/ in
 * ordinary and sanitizer builds. It must not leak, and must treat data as hostile. */
#ifndef SL_FUZZ_H
#define SL_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
