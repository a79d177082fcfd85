#include "Im2Col.h"
#include <string.h>

int im2col_output_size(int in, int kernel, int stride, int pad) {
    int span = in + 2 * pad - kernel;
    if (span < 0 || stride <= 0) return 0;
    return span / stride + 1;
}

void im2col_chwn(const float *x, int C, int H, int W, int N,
                 int KH, int KW, int SH, int SW, int PH, int PW,
                 int c_begin, int c_end, float *cols) {
    const int OH = im2col_output_size(H, KH, SH, PH);
    const int OW = im2col_output_size(W, KW, SW, PW);
    const long row_len = (long)OH * OW * N;
    (void)C;
    for (int c = c_begin; c < c_end; ++c) {
        const float *xc = x + (long)c * H * W * N;
        for (int ki = 0; ki < KH; ++ki) {
            for (int kj = 0; kj < KW; ++kj) {
                float *row = cols + ((long)(c * KH + ki) * KW + kj) * row_len;
                for (int oy = 0; oy < OH; ++oy) {
                    const int iy = oy * SH - PH + ki;
                    float *dst = row + (long)oy * OW * N;
                    if (iy < 0 || iy >= H) {
                        memset(dst, 0, sizeof(float) * (size_t)OW * N);
                        continue;
                    }
                    for (int ox = 0; ox < OW; ++ox) {
                        const int ix = ox * SW - PW + kj;
                        if (ix < 0 || ix >= W) {
                            memset(dst + (long)ox * N, 0, sizeof(float) * (size_t)N);
                        } else {
                            memcpy(dst + (long)ox * N, xc + ((long)iy * W + ix) * N,
                                   sizeof(float) * (size_t)N);
                        }
                    }
                }
            }
        }
    }
}

void col2im_chwn(const float *cols, int C, int H, int W, int N,
                 int KH, int KW, int SH, int SW, int PH, int PW,
                 int c_begin, int c_end, float *dx) {
    const int OH = im2col_output_size(H, KH, SH, PH);
    const int OW = im2col_output_size(W, KW, SW, PW);
    const long row_len = (long)OH * OW * N;
    (void)C;
    for (int c = c_begin; c < c_end; ++c) {
        float *dxc = dx + (long)c * H * W * N;
        memset(dxc, 0, sizeof(float) * (size_t)H * W * N);
        for (int ki = 0; ki < KH; ++ki) {
            for (int kj = 0; kj < KW; ++kj) {
                const float *row = cols + ((long)(c * KH + ki) * KW + kj) * row_len;
                for (int oy = 0; oy < OH; ++oy) {
                    const int iy = oy * SH - PH + ki;
                    if (iy < 0 || iy >= H) continue;
                    const float *src = row + (long)oy * OW * N;
                    for (int ox = 0; ox < OW; ++ox) {
                        const int ix = ox * SW - PW + kj;
                        if (ix < 0 || ix >= W) continue;
                        float *d = dxc + ((long)iy * W + ix) * N;
                        const float *s = src + (long)ox * N;
                        for (int n = 0; n < N; ++n) d[n] += s[n];
                    }
                }
            }
        }
    }
}
