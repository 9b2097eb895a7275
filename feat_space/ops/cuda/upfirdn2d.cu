// upfirdn2d: upsample by zero insertion, pad (negative pads crop), FIR-filter with a 2-D kernel as a
// true convolution, keep every down-th sample from 0 -- per channel of a [B, C, H, W] tensor.
//
// One thread per output sample. Output (oy, ox) is the dot product of the kernel, flipped, with the
// window of the padded upsampled image whose top-left corner is (oy * down_y, ox * down_x). Instead of
// materialising that image, the loops run only over the input samples landing in the window, so the
// inserted zeros and the padding cost nothing and any up/down/pad/kernel size works. The backward
// pass is this same op with up and down swapped (see extension.py), so it needs no kernel of its own.

#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/core/TensorBase.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <algorithm>

namespace {

constexpr int kThreads = 256;

struct Params {
  int in_h, in_w, out_h, out_w, channels;
  int up_x, up_y, down_x, down_y, pad_x0, pad_y0, kernel_h, kernel_w;
  int64_t in_sn, in_sc, in_sh, in_sw;  // input strides in elements: any layout is read in place
  int64_t total;                       // number of outputs
  bool channels_last;                  // output layout; threads follow it so that writes coalesce
};

// Floor / ceiling of a / b for b > 0 and any sign of a (C++ division truncates toward zero).
__device__ __forceinline__ int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
__device__ __forceinline__ int ceil_div(int a, int b) { return -floor_div(-a, b); }

template <typename scalar_t>
__global__ void upfirdn2d_kernel(
    scalar_t* __restrict__ out, const scalar_t* __restrict__ x,
    const at::opmath_type<scalar_t>* __restrict__ kernel, const Params p) {
  using acc_t = at::opmath_type<scalar_t>;
  const int64_t step = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < p.total; idx += step) {
    int64_t rest = idx;
    int c = 0;
    if (p.channels_last) {
      c = static_cast<int>(rest % p.channels);
      rest /= p.channels;
    }
    const int ox = static_cast<int>(rest % p.out_w);
    rest /= p.out_w;
    const int oy = static_cast<int>(rest % p.out_h);
    rest /= p.out_h;
    if (!p.channels_last) {
      c = static_cast<int>(rest % p.channels);
      rest /= p.channels;
    }
    const int64_t b = rest;

    // Window start in upsampled (unpadded) coordinates; upsampled sample u holds input u / up when
    // up divides u. Kernel tap t of the window (weight kernel[K - 1 - t], the flip) sees u = base + t.
    const int base_y = oy * p.down_y - p.pad_y0;
    const int base_x = ox * p.down_x - p.pad_x0;
    const int iy0 = max(ceil_div(base_y, p.up_y), 0);
    const int iy1 = min(floor_div(base_y + p.kernel_h - 1, p.up_y), p.in_h - 1);
    const int ix0 = max(ceil_div(base_x, p.up_x), 0);
    const int ix1 = min(floor_div(base_x + p.kernel_w - 1, p.up_x), p.in_w - 1);

    const scalar_t* plane = x + b * p.in_sn + c * p.in_sc;
    acc_t acc = 0;
    for (int iy = iy0; iy <= iy1; ++iy) {
      const acc_t* krow = kernel + (p.kernel_h - 1 - (iy * p.up_y - base_y)) * p.kernel_w;
      const scalar_t* xrow = plane + iy * p.in_sh;
      for (int ix = ix0; ix <= ix1; ++ix) {
        acc += static_cast<acc_t>(xrow[ix * p.in_sw]) * krow[p.kernel_w - 1 - (ix * p.up_x - base_x)];
      }
    }
    out[idx] = static_cast<scalar_t>(acc);
  }
}

}  // namespace

// x: [B, C, H, W], any strides. kernel: [kh, kw], contiguous, of x's opmath dtype (float, or double).
// out: [B, C, out_h, out_w], contiguous in the layout `channels_last` names.
void launch_upfirdn2d(
    const at::TensorBase& out, const at::TensorBase& x, const at::TensorBase& kernel,
    int64_t up_x, int64_t up_y, int64_t down_x, int64_t down_y, int64_t pad_x0, int64_t pad_y0,
    bool channels_last) {
  Params p;
  p.in_h = static_cast<int>(x.size(2));
  p.in_w = static_cast<int>(x.size(3));
  p.channels = static_cast<int>(x.size(1));
  p.out_h = static_cast<int>(out.size(2));
  p.out_w = static_cast<int>(out.size(3));
  p.up_x = static_cast<int>(up_x);
  p.up_y = static_cast<int>(up_y);
  p.down_x = static_cast<int>(down_x);
  p.down_y = static_cast<int>(down_y);
  p.pad_x0 = static_cast<int>(pad_x0);
  p.pad_y0 = static_cast<int>(pad_y0);
  p.kernel_h = static_cast<int>(kernel.size(0));
  p.kernel_w = static_cast<int>(kernel.size(1));
  p.in_sn = x.stride(0);
  p.in_sc = x.stride(1);
  p.in_sh = x.stride(2);
  p.in_sw = x.stride(3);
  p.total = out.numel();
  p.channels_last = channels_last;
  if (p.total == 0) return;

  const c10::cuda::CUDAGuard guard(x.device());
  const int64_t blocks = std::min<int64_t>((p.total + kThreads - 1) / kThreads, int64_t{1} << 20);
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "upfirdn2d", [&] {
    upfirdn2d_kernel<scalar_t><<<static_cast<unsigned int>(blocks), kThreads, 0, stream>>>(
        out.data_ptr<scalar_t>(), x.const_data_ptr<scalar_t>(), kernel.const_data_ptr<at::opmath_type<scalar_t>>(),
        p);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
}
