/* ut_asan.h — T_ASAN is defined when the unit test is built under
 * AddressSanitizer (gcc's __SANITIZE_ADDRESS__ or clang's feature test). */
#ifndef PARLEY_UT_ASAN_H
#define PARLEY_UT_ASAN_H

#if defined(__SANITIZE_ADDRESS__)
#define T_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define T_ASAN 1
#endif
#endif

#endif
