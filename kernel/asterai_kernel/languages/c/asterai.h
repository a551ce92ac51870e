/* asterai.h: the types a C or C++ cell of the Asterai kernel uses to pass strings and lists.
 *
 * Every C/C++ cell includes it already (with stdbool.h, stdint.h, stddef.h, stdlib.h, string.h, stdio.h,
 * assert.h and uchar.h; C++ cells also get string, string_view, vector, optional, tuple and utility);
 * writing #include "asterai.h" yourself is fine too. C++ cells also take std::string, std::string_view,
 * std::vector<T>, std::optional<T>, std::pair and std::tuple, structs and enum class, by value or const &.
 *
 * How C types cross (WIT in brackets):
 *   bool [bool], int8_t..uint64_t and int, unsigned, long long, size_t [s8..u64], float [f32],
 *   double [f64], char32_t [char].
 *   const char *   a parameter: a NUL-terminated string, borrowed for the call [string].
 *                  A result: a string that stays valid (a literal, a static buffer); it is not freed.
 *   char *         a result: a string the function allocated with malloc; the kernel frees it.
 *   asterai_string { char *ptr; size_t len; }: any string, NUL bytes included. As a parameter it is
 *                  borrowed (ptr[len] is a NUL too); as a result ptr must come from malloc (freed after).
 *   T *xs, size_t n   a pointer parameter followed by its length: a list<T>, borrowed for the call.
 *   ASTERAI_LIST(T) a list as a value: `typedef ASTERAI_LIST(Point) Points;` then return or take Points.
 *                  Returned lists must come from malloc (the kernel frees ptr and what the elements own).
 *                  Ready-made: asterai_list_f64, asterai_list_s32, asterai_list_u8, asterai_list_string...
 *   typedef struct { ... } Point;   a record [point]; typedef enum { RED, DARK_RED } Color;  an enum
 *                  [color: red, dark-red]; a prefix shared by every case and naming the type (COLOR_RED)
 *                  is left out of the WIT names.
 * Parameters are borrowed: the kernel frees them after the call (and after the host has read the result,
 * so returning a parameter or part of it is fine). Never free() a parameter.
 */
#ifndef ASTERAI_H
#define ASTERAI_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __cplusplus
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>
#else
#include <uchar.h>
#endif

#define ASTERAI_LIST(T) struct { T *ptr; size_t len; }

typedef struct { char *ptr; size_t len; } asterai_string;

typedef ASTERAI_LIST(bool) asterai_list_bool;
typedef ASTERAI_LIST(int8_t) asterai_list_s8;
typedef ASTERAI_LIST(uint8_t) asterai_list_u8;
typedef ASTERAI_LIST(int16_t) asterai_list_s16;
typedef ASTERAI_LIST(uint16_t) asterai_list_u16;
typedef ASTERAI_LIST(int32_t) asterai_list_s32;
typedef ASTERAI_LIST(uint32_t) asterai_list_u32;
typedef ASTERAI_LIST(int64_t) asterai_list_s64;
typedef ASTERAI_LIST(uint64_t) asterai_list_u64;
typedef ASTERAI_LIST(float) asterai_list_f32;
typedef ASTERAI_LIST(double) asterai_list_f64;
typedef ASTERAI_LIST(char32_t) asterai_list_char;
typedef ASTERAI_LIST(asterai_string) asterai_list_string;

#endif
