#ifndef ARCA_CNUMA_SHIM_H
#define ARCA_CNUMA_SHIM_H
#include <numa.h>
#include <numaif.h>
#endif
