// Python bindings of the CUDA ops: argument checks, output allocation, layout and dtype handling.
// The kernels live in fused_bias_act.cu and upfirdn2d.cu; autograd is wired up in extension.py.
//
// Not <torch/extension.h>: it pulls in the whole C++ frontend and doubles this file's compile time
// (22 s -> 11 s on 2 cores); ATen's Tensor and torch's pybind11 casters are all that is needed.

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <torch/csrc/utils/pybind.h>

#include <cstdlib>
#include <optional>

void launch_fused_bias_act(
    const at::TensorBase& out, const at::TensorBase& ref, const at::TensorBase& bias, const at::TensorBase& grad,
    double slope, double scale, bool channels_last);

void launch_upfirdn2d(
    const at::TensorBase& out, const at::TensorBase& x, const at::TensorBase& kernel,
    int64_t up_x, int64_t up_y, int64_t down_x, int64_t down_y, int64_t pad_x0, int64_t pad_y0,
    bool channels_last);

namespace {

bool is_channels_last(at::MemoryFormat format) {
  return format == at::MemoryFormat::ChannelsLast || format == at::MemoryFormat::ChannelsLast3d;
}

void check_bias(const std::optional<at::Tensor>& bias, const at::Tensor& x) {
  if (!bias.has_value()) return;
  TORCH_CHECK(bias->device() == x.device(), "fused_bias_act: bias must be on ", x.device(), ", got ", bias->device());
  TORCH_CHECK(bias->scalar_type() == x.scalar_type(), "fused_bias_act: bias dtype ", bias->scalar_type(),
              " differs from x dtype ", x.scalar_type());
  TORCH_CHECK(bias->dim() == 1 && bias->size(0) == x.size(1), "fused_bias_act: bias must have shape [",
              x.size(1), "], got ", bias->sizes());
}

// Shared by forward (grad undefined) and backward: both run the same elementwise kernel.
at::Tensor fused_bias_act_impl(const at::Tensor& ref_in, const std::optional<at::Tensor>& bias_in,
                               const at::Tensor& grad_in, double slope, double scale) {
  TORCH_CHECK(ref_in.is_cuda(), "fused_bias_act: expected a CUDA tensor, got one on ", ref_in.device());
  TORCH_CHECK(ref_in.dim() >= 2, "fused_bias_act: expected at least 2 dims [B, C, ...], got ", ref_in.sizes());
  check_bias(bias_in, ref_in);
  // Channels-last tensors are processed in place of their layout; anything else is made contiguous.
  const at::MemoryFormat format = ref_in.suggest_memory_format();
  const at::Tensor ref = ref_in.contiguous(format);
  at::Tensor grad;
  if (grad_in.defined()) {
    TORCH_CHECK(grad_in.sizes() == ref_in.sizes() && grad_in.scalar_type() == ref_in.scalar_type() &&
                    grad_in.device() == ref_in.device(),
                "fused_bias_act: gradient of shape ", grad_in.sizes(), " does not match ", ref_in.sizes());
    grad = grad_in.contiguous(format);
  }
  const at::Tensor bias = bias_in.has_value() ? bias_in->contiguous() : at::Tensor();
  at::Tensor out = at::empty_like(ref, ref.options(), format);
  launch_fused_bias_act(out, ref, bias, grad, slope, scale, is_channels_last(format));
  return out;
}

at::Tensor fused_bias_act(const at::Tensor& x, const std::optional<at::Tensor>& bias, double slope, double scale) {
  return fused_bias_act_impl(x, bias, at::Tensor(), slope, scale);
}

at::Tensor fused_bias_act_grad(const at::Tensor& grad, const at::Tensor& ref, const std::optional<at::Tensor>& bias,
                               double slope, double scale) {
  return fused_bias_act_impl(ref, bias, grad, slope, scale);
}

at::Tensor upfirdn2d(const at::Tensor& x, const at::Tensor& kernel, int64_t up_x, int64_t up_y, int64_t down_x,
                     int64_t down_y, int64_t pad_x0, int64_t pad_x1, int64_t pad_y0, int64_t pad_y1) {
  TORCH_CHECK(x.is_cuda(), "upfirdn2d: expected a CUDA tensor, got one on ", x.device());
  TORCH_CHECK(x.dim() == 4, "upfirdn2d: expected x of shape [B, C, H, W], got ", x.sizes());
  TORCH_CHECK(kernel.dim() == 2 && kernel.numel() > 0, "upfirdn2d: expected a non-empty 2-D kernel, got ",
              kernel.sizes());
  TORCH_CHECK(up_x >= 1 && up_y >= 1 && down_x >= 1 && down_y >= 1, "upfirdn2d: up and down must be >= 1");
  const int64_t in_h = x.size(2), in_w = x.size(3);
  const int64_t padded_h = in_h * up_y + pad_y0 + pad_y1;
  const int64_t padded_w = in_w * up_x + pad_x0 + pad_x1;
  TORCH_CHECK(padded_h >= kernel.size(0) && padded_w >= kernel.size(1), "upfirdn2d: the padded input (",
              padded_h, "x", padded_w, ") is smaller than the kernel ", kernel.sizes());
  const int64_t out_h = (padded_h - kernel.size(0)) / down_y + 1;
  const int64_t out_w = (padded_w - kernel.size(1)) / down_x + 1;
  TORCH_CHECK(in_h * up_y + std::abs(pad_y0) + kernel.size(0) < (int64_t{1} << 30) &&
                  in_w * up_x + std::abs(pad_x0) + kernel.size(1) < (int64_t{1} << 30),
              "upfirdn2d: sizes too large for 32-bit coordinates");

  // Taps in the accumulation type (float for half/bfloat16/float, double for double).
  const at::ScalarType tap_type = x.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  const at::Tensor taps = kernel.to(x.device(), tap_type).contiguous();
  const at::MemoryFormat format = x.suggest_memory_format();
  at::Tensor out = at::empty({x.size(0), x.size(1), out_h, out_w}, x.options().memory_format(format));
  launch_upfirdn2d(out, x, taps, up_x, up_y, down_x, down_y, pad_x0, pad_y0, is_channels_last(format));
  return out;
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "feat_space CUDA ops: fused bias + leaky ReLU + gain, and upfirdn2d";
  m.def("fused_bias_act", &fused_bias_act, "leaky_relu(x + bias[c], slope) * scale", py::arg("x"), py::arg("bias"),
        py::arg("slope"), py::arg("scale"));
  m.def("fused_bias_act_grad", &fused_bias_act_grad,
        "grad * d/dx of fused_bias_act, with the slope chosen by the sign of ref (+ bias)", py::arg("grad"),
        py::arg("ref"), py::arg("bias"), py::arg("slope"), py::arg("scale"));
  m.def("upfirdn2d", &upfirdn2d, "upsample, pad, FIR filter (true convolution), downsample", py::arg("x"),
        py::arg("kernel"), py::arg("up_x"), py::arg("up_y"), py::arg("down_x"), py::arg("down_y"), py::arg("pad_x0"),
        py::arg("pad_x1"), py::arg("pad_y0"), py::arg("pad_y1"));
}
