/* pthread.h for the WebAssembly build: one thread, so pthread_once is a flag. The core
 * uses nothing else (stack/skiplist.c parses its lists once). */
#ifndef KB_WASM_PTHREAD_H
#define KB_WASM_PTHREAD_H

typedef int pthread_once_t;
#define PTHREAD_ONCE_INIT 0

static inline int pthread_once(pthread_once_t *once, void (*fn)(void)) {
  if (!*once) {
    *once = 1;
    fn();
  }
  return 0;
}

#endif
