/* The runtime of the glue asterai generates for a C or C++ cell (and for the headers of `--use`).
 * Included before the cell's code; cells use asterai.h, not this.
 *
 * Memory: whatever the glue takes ownership of during a call (the arguments the host wrote, buffers the
 * glue lays results out in, and the malloc'ed results a cell returns) is noted with asterai_own and freed
 * by asterai_release: after the call, or in the export's post-return once the host has read the result.
 * Each pointer is freed once, however often it was noted (a function may return its own argument).
 */
#ifndef ASTERAI_RUNTIME_H
#define ASTERAI_RUNTIME_H

#include "asterai.h"

#define ASTERAI_PTR(x) ((uint8_t *)(uintptr_t)(uint32_t)(x))
#define ASTERAI_I32(p) ((int32_t)(uintptr_t)(p))

__attribute__((noreturn)) static inline void asterai_trap(const char *message) {
    fflush(stdout);
    fprintf(stderr, "\nasterai trap: %s\n", message);
    __builtin_trap();
}

/* C's abort() from the cell's code says where it was called (the macro is defined for C cells only). */
__attribute__((noreturn)) static inline void asterai_abort_at(int line) {
    char message[48];
    snprintf(message, sizeof message, "abort() called (at line %d)", line);
    asterai_trap(message);
}

static inline void *asterai_alloc(size_t size) {
    if (size == 0) {
        return NULL;
    }
    void *p = malloc(size);
    if (p == NULL) {
        asterai_trap("out of memory");
    }
    return p;
}

__attribute__((export_name("cabi_realloc"))) void *cabi_realloc(void *old, size_t old_size, size_t align,
                                                                 size_t new_size) {
    (void)old_size;
    (void)align; /* malloc's alignment (16) covers every canonical-ABI type */
    /* Even an empty string or list gets an allocation of its own: the glue frees whatever it was given. */
    void *p = realloc(old, new_size ? new_size : 1);
    if (p == NULL) {
        __builtin_trap(); /* no message: WASI calls are forbidden while the host lowers arguments */
    }
    return p;
}

static void **asterai_owned;
static size_t asterai_owned_len, asterai_owned_cap;

static inline void asterai_own(void *p) {
    if (p == NULL) {
        return;
    }
    if (asterai_owned_len == asterai_owned_cap) {
        size_t cap = asterai_owned_cap ? 2 * asterai_owned_cap : 64;
        void **grown = (void **)realloc(asterai_owned, cap * sizeof(void *));
        if (grown == NULL) {
            asterai_trap("out of memory");
        }
        asterai_owned = grown;
        asterai_owned_cap = cap;
    }
    asterai_owned[asterai_owned_len++] = p;
}

static inline size_t asterai_mark(void) { return asterai_owned_len; }

static inline int asterai_order(const void *a, const void *b) {
    uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
    return (x > y) - (x < y);
}

/* Frees what was owned since `mark`, each pointer once. */
static inline void asterai_release(size_t mark) {
    void **ps = asterai_owned + mark;
    size_t n = asterai_owned_len - mark;
    qsort(ps, n, sizeof(void *), asterai_order);
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || ps[i] != ps[i - 1]) {
            free(ps[i]);
        }
    }
    asterai_owned_len = mark;
}

/* Memory the glue lays a value out in for the host: freed with what the call owns. */
static inline uint8_t *asterai_scratch(size_t size) {
    uint8_t *p = (uint8_t *)asterai_alloc(size);
    asterai_own(p);
    return p;
}

/* A string the host wrote (p, n): NUL-terminated in place (the buffer grows by one byte). */
static inline char *asterai_lift_chars(int32_t p, int32_t n) {
    char *s = (char *)realloc(ASTERAI_PTR(p), (size_t)n + 1);
    if (s == NULL) {
        asterai_trap("out of memory");
    }
    s[n] = 0;
    return s;
}

static inline char *asterai_lift_cstr(int32_t p, int32_t n) {
    char *s = asterai_lift_chars(p, n);
    if (memchr(s, 0, (size_t)n) != NULL) {
        asterai_trap("a string holding a NUL character cannot cross as a NUL-terminated `char *`: "
                     "take or return an asterai_string instead");
    }
    return s;
}

static inline asterai_string asterai_lift_string(int32_t p, int32_t n) {
    asterai_string s;
    s.ptr = asterai_lift_chars(p, n);
    s.len = (size_t)n;
    return s;
}

static inline int32_t asterai_cstr_len(const char *s) { return s ? (int32_t)strlen(s) : 0; }

/* Bulk twins (the host's values.BulkCodec): a numeric list crosses as one ASCII string, its n bytes with
 * the top bit cleared, then one character 0x40 | (4 top bits) per 4 bytes. Both ways work 8 bytes at a
 * time in 64-bit words: a multiply gathers or spreads the 8 top bits. */
static inline uint64_t asterai_load64(const uint8_t *p) {
    uint64_t x;
    memcpy(&x, p, 8);
    return x;
}

/* Decodes the block (p, len) in place (byte i only reads byte i and a top character after the data) and
 * returns its n data bytes; p stays the buffer to free. */
static inline size_t asterai_bulk_decode(int32_t p, int32_t len) {
    uint8_t *data = ASTERAI_PTR(p);
    size_t n = (size_t)(uint32_t)len * 4 / 5, whole = n / 8;
    const uint8_t *tops = data + n;
    for (size_t g = 0; g < whole; g++) {
        /* the 4 bits of each of the group's 2 characters, at bits 0-3 and 32-35, spread to bit 7 of bytes */
        uint64_t t = (uint64_t)(tops[2 * g] & 0xF) | (uint64_t)(tops[2 * g + 1] & 0xF) << 32;
        uint64_t x = asterai_load64(data + 8 * g) | ((t * 0x10204080u) & 0x8080808080808080ull);
        memcpy(data + 8 * g, &x, 8);
    }
    for (size_t i = 8 * whole; i < n; i++) {
        data[i] |= (uint8_t)(((tops[i / 4] >> (i % 4)) & 1) << 7);
    }
    return n;
}

/* The block of n bytes at `src`, in memory freed with what the call owns: (*p, *len). */
static inline void asterai_bulk_encode(const void *src, size_t n, int32_t *p, int32_t *len) {
    const uint8_t *data = (const uint8_t *)src;
    size_t whole = n / 8, size = n + (n + 3) / 4;
    uint8_t *out = asterai_scratch(size ? size : 1), *tops = out + n;
    for (size_t g = 0; g < whole; g++) {
        uint64_t x = asterai_load64(data + 8 * g), low = x & 0x7F7F7F7F7F7F7F7Full;
        uint64_t bits = ((x & 0x8080808080808080ull) * 0x0002040810204081ull) >> 56; /* bit k: byte k's */
        memcpy(out + 8 * g, &low, 8);
        tops[2 * g] = (uint8_t)(0x40 | (bits & 0xF));
        tops[2 * g + 1] = (uint8_t)(0x40 | bits >> 4);
    }
    for (size_t j = 2 * whole; j < (n + 3) / 4; j++) {
        tops[j] = 0x40;
    }
    for (size_t i = 8 * whole; i < n; i++) {
        out[i] = data[i] & 0x7F;
        tops[i / 4] |= (uint8_t)((data[i] >> 7) << (i % 4));
    }
    *p = ASTERAI_I32(out);
    *len = (int32_t)size;
}

#ifdef __cplusplus
/* C++'s own types: lifted by copying what the host wrote, which is freed at once. */
static inline std::string asterai_lift_std_string(int32_t p, int32_t n) {
    std::string s((const char *)ASTERAI_PTR(p), (size_t)n);
    free(ASTERAI_PTR(p));
    return s;
}

template <typename T> static inline std::vector<T> asterai_lift_vector(int32_t p, int32_t n) {
    const T *items = (const T *)ASTERAI_PTR(p);
    std::vector<T> v(items, items + n);
    free(ASTERAI_PTR(p));
    return v;
}

namespace std {
using ::asterai_abort_at; /* `std::abort()` in a cell says where it was called, as `abort()` does */
}
#endif

/* stdout unbuffered: the cell's printf and fprintf(stderr) reach the notebook in the order written. */
__attribute__((constructor)) static void asterai_init(void) { setvbuf(stdout, NULL, _IONBF, 0); }

#endif
