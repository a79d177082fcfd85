// The one C header the engine sees of libjpeg-turbo: its TurboJPEG API (tjDecompress2 and
// the header, error and handle calls around it).
#ifndef CTURBOJPEG_SHIM_H
#define CTURBOJPEG_SHIM_H
#include <turbojpeg.h>
#endif
