// The one C header the engine sees of libpng: its simplified read API (png_image_*).
// The PNG_FORMAT_* and PNG_IMAGE_FLAG_* values are macros built from other macros, so the
// ones the decoder uses are repeated here as constants Swift can import.
#ifndef CPNG_SHIM_H
#define CPNG_SHIM_H
#include <png.h>

static const png_uint_32 cpng_format_rgb = PNG_FORMAT_RGB;
static const png_uint_32 cpng_format_rgba = PNG_FORMAT_RGBA;
static const png_uint_32 cpng_format_flag_alpha = PNG_FORMAT_FLAG_ALPHA;
static const png_uint_32 cpng_image_flag_16bit_srgb = PNG_IMAGE_FLAG_16BIT_sRGB;
static const png_uint_32 cpng_image_version = PNG_IMAGE_VERSION;
static const png_uint_32 cpng_user_width_max = PNG_USER_WIDTH_MAX;
static const png_uint_32 cpng_user_height_max = PNG_USER_HEIGHT_MAX;
#endif
