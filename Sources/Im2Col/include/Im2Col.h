// im2col / col2im for a K×K convolution with any stride and padding.
//
// Layout (the engine's activation layout, see Sources/MobileNet/Core/Layout.swift):
// an activation is C × H × W × N, batch innermost, row-major. With N = 1 this is the
// ordinary C × H × W layout of one image.
//
// Legend: C channels, H×W input, N batch, KH×KW kernel, SH/SW stride, PH/PW padding,
// OH×OW output with OH = (H + 2·PH − KH) / SH + 1 and OW likewise.
//
// The column matrix is [C·KH·KW, OH·OW·N], row-major: row (c, ki, kj) in that order
// (exactly PyTorch's Conv2d weight [Cout, C, KH, KW] flattened to [Cout, C·KH·KW]),
// column (oy, ox, n). Entry = x[c, oy·SH − PH + ki, ox·SW − PW + kj, n], or 0 where
// that falls in the padding. Every copy moves a whole contiguous N-vector.
//
// Pure C: no allocation, no globals, no threads. Callers may split the work by
// channel ranges (c_begin, c_end) to run it in parallel: ranges write disjoint rows.
#ifndef IM2COL_H
#define IM2COL_H

// The widest x86 vector registers the build targets, in bits: 512 with AVX-512F, 256
// with AVX, else 128 (other architectures too). Set by the C flags (-Xcc -march=…, which
// the Makefile passes beside Swift's -target-cpu); Swift reads it through the clang
// importer, which is given the same -Xcc flags. Reports print it (BuildTarget.swift).
#if defined(__AVX512F__)
#define IM2COL_TARGET_VECTOR_BITS 512
#elif defined(__AVX__)
#define IM2COL_TARGET_VECTOR_BITS 256
#else
#define IM2COL_TARGET_VECTOR_BITS 128
#endif

#ifdef __cplusplus
extern "C" {
#endif

/// Output extent of a convolution along one axis: (in + 2·pad − kernel) / stride + 1.
/// Returns 0 when the kernel does not fit.
int im2col_output_size(int in, int kernel, int stride, int pad);

/// Writes the column matrix rows of channels [c_begin, c_end) of `x` into `cols`.
/// `x`: C×H×W×N; `cols`: [C·KH·KW, OH·OW·N] (only the rows of the given channels are written).
void im2col_chwn(const float *x, int C, int H, int W, int N,
                 int KH, int KW, int SH, int SW, int PH, int PW,
                 int c_begin, int c_end, float *cols);

/// Adjoint of im2col_chwn for channels [c_begin, c_end): accumulates the column
/// matrix back into `dx` (C×H×W×N). The channels' part of `dx` is overwritten
/// (zeroed first), so no separate clear is needed.
void col2im_chwn(const float *cols, int C, int H, int W, int N,
                 int KH, int KW, int SH, int SW, int PH, int PW,
                 int c_begin, int c_end, float *dx);

#ifdef __cplusplus
}
#endif

#endif
