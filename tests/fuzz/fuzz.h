/* fuzz.h - what the libFuzzer harnesses (tests/fuzz/fuzz_*.c) share: libFuzzer's entry
 * points (declared here because the build warns about functions without a prototype)
 * and, for the harnesses that need a built site (search, http), fuzz_site.c. */
#ifndef KB_FUZZ_H
#define KB_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The repository: $KB_SOURCE_DIR, else the source folder the harness was built from. */
const char *fuzz_source_dir(void);

/* Build content/ with templates/ into a fresh temporary folder (under $TMPDIR), once per
 * process, and return the site folder; removed at exit. Aborts when the build fails: a
 * harness without its site would fuzz nothing. */
const char *fuzz_site_dir(void);

#endif
