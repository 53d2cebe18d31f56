/* version.c: the library version, for --version and bundle manifests. */
#include "sealtrail.h"

const char *st_version(void) { return SEALTRAIL_VERSION_STRING; }
