#ifndef ARCA_CHWLOC_SHIM_H
#define ARCA_CHWLOC_SHIM_H
#include <hwloc.h>

/// hwloc's bitmap iteration and some constants are macros; these make them callable from Swift.
static inline int arca_hwloc_api_version(void) { return (int)HWLOC_API_VERSION; }
static inline int arca_hwloc_get_api_version(void) { return (int)hwloc_get_api_version(); }
#endif
