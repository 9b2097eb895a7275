// Fused bias + leaky ReLU + gain: y = leaky_relu(x + b[c], slope) * scale, and its gradient.
//
// One elementwise kernel serves both directions. With `grad` undefined it is the forward op; with
// `grad` given it returns grad * dy/dx, where the slope is picked from the sign of `ref` (+ bias):
// the saved output y when slope >= 0 (sign(y) == sign(x + b) then), else the input x with its bias.
// Tensors arrive dense in one memory format (ops.cpp makes them so): either contiguous, where the
// channel of flat element i is (i / inner) % C, or channels-last, where it is i % C.
//
// Only light ATen headers are included: nvcc parses every header once per target architecture,
// and <torch/extension.h> would multiply the JIT build time.

#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/core/TensorBase.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <algorithm>

namespace {

constexpr int kThreads = 256;

template <typename scalar_t>
__global__ void fused_bias_act_kernel(
    scalar_t* __restrict__ out,
    const scalar_t* __restrict__ ref,
    const scalar_t* __restrict__ bias,  // nullptr: no bias
    const scalar_t* __restrict__ grad,  // nullptr: forward
    int64_t n, int64_t channels, int64_t inner, bool channels_last,
    at::opmath_type<scalar_t> pos_gain, at::opmath_type<scalar_t> neg_gain) {
  using acc_t = at::opmath_type<scalar_t>;
  const int64_t step = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    acc_t v = static_cast<acc_t>(ref[i]);
    if (bias != nullptr) {
      const int64_t c = channels_last ? i % channels : (i / inner) % channels;
      v += static_cast<acc_t>(bias[c]);
    }
    // `v > 0` (not >=) matches PyTorch's leaky_relu derivative at exactly 0.
    const acc_t gain = v > acc_t(0) ? pos_gain : neg_gain;
    const acc_t src = grad != nullptr ? static_cast<acc_t>(grad[i]) : v;
    out[i] = static_cast<scalar_t>(src * gain);
  }
}

}  // namespace

// out, ref, grad (if defined) share shape, dtype, device and dense memory format; bias (if defined)
// is 1-D with size(1) entries of the same dtype.
void launch_fused_bias_act(
    const at::TensorBase& out, const at::TensorBase& ref, const at::TensorBase& bias, const at::TensorBase& grad,
    double slope, double scale, bool channels_last) {
  const int64_t n = ref.numel();
  if (n == 0) return;
  const int64_t channels = ref.dim() > 1 ? ref.size(1) : 1;
  const int64_t inner = n / (ref.size(0) * channels);
  const c10::cuda::CUDAGuard guard(ref.device());
  const int64_t blocks = std::min<int64_t>((n + kThreads - 1) / kThreads, int64_t{1} << 20);
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, ref.scalar_type(), "fused_bias_act", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    fused_bias_act_kernel<scalar_t><<<static_cast<unsigned int>(blocks), kThreads, 0, stream>>>(
        out.data_ptr<scalar_t>(), ref.const_data_ptr<scalar_t>(),
        bias.defined() ? bias.const_data_ptr<scalar_t>() : nullptr,
        grad.defined() ? grad.const_data_ptr<scalar_t>() : nullptr,
        n, channels, inner, channels_last, static_cast<acc_t>(scale), static_cast<acc_t>(slope * scale));
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
}
