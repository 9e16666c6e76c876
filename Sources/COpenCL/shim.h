#ifndef ARCA_COPENCL_SHIM_H
#define ARCA_COPENCL_SHIM_H
/* OpenCL 1.2 API: portable across PoCL, vendor GPU drivers and FPGA runtimes. */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#endif
