/*
 * sanitizer_options.c: built into sealtrail in the sanitizer build only
 * (SEALTRAIL_SANITIZE, CI's ASan+UBSan run). A set-user-ID process cannot
 * read its own /proc/self/environ, where the sanitizer runtime looks for
 * ASAN_OPTIONS and its kind, and LeakSanitizer's check at exit needs
 * ptrace, which such a process forbids: run set-user-ID (protected mode,
 * tests/e2e/test_protected.sh), the program would fail at exit with
 * "LeakSanitizer has encountered a fatal error". So leaks go unchecked in
 * a set-user-ID run; memory errors and undefined behaviour still stop it
 * (-fno-sanitize-recover=all).
 */
#include <sys/auxv.h>

const char *__lsan_default_options(void);

const char *__lsan_default_options(void) { return getauxval(AT_SECURE) ? "detect_leaks=0" : ""; }
