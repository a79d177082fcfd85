#include <stddef.h>
#include "MallocCounter.h"

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static __thread long count;
static __thread int counting;

void malloc_counter_start(void) { count = 0; counting = 1; }
long malloc_counter_stop(void) { counting = 0; return count; }

static inline void seen(void) { if (counting) count++; }

void *malloc(size_t size) { seen(); return __libc_malloc(size); }
void *calloc(size_t n, size_t size) { seen(); return __libc_calloc(n, size); }
void *realloc(void *p, size_t size) { seen(); return __libc_realloc(p, size); }
void *memalign(size_t alignment, size_t size) { seen(); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { seen(); return __libc_memalign(alignment, size); }
int posix_memalign(void **out, size_t alignment, size_t size) {
    seen();
    void *p = __libc_memalign(alignment, size);
    if (p == NULL) return 12; /* ENOMEM */
    *out = p;
    return 0;
}
void free(void *p) { __libc_free(p); }
