// The one C header the engine sees of OpenBLAS: CBLAS plus the thread-count controls.
#ifndef COPENBLAS_SHIM_H
#define COPENBLAS_SHIM_H
#include <cblas.h>
#endif
