// The convolution gradients of TF.js 4.22's WASM backend, rewritten so that a conv GAN can learn
// there. The backend registers no Conv2DBackpropFilter kernel, so a convolution's filters could
// not learn on WASM at all, and its Conv2DBackpropInput is a plain loop, 5 to 10 times slower
// than the forward convolution. Both are written here as forward convolutions, which the backend
// runs on XNNPACK (its fast path), plus transposes, also fast there; StridedSlice and
// DepthToSpace, which it runs one element at a time, are avoided. registerWasmConvGradients()
// registers them for "wasm" once TF.js and its WASM backend are loaded; the other backends keep
// their own.
//
// Layouts are TF.js's (channels last): x [batch, height, width, inChannels], filter
// [filterHeight, filterWidth, inChannels, outChannels], dy [batch, outHeight, outWidth, outChannels].

const convInfo = (xShape, filterShape, strides, pad, dimRoundingMode) =>
  tf.backend_util.computeConv2DInfo(xShape, filterShape, strides, 1, pad, dimRoundingMode, false, "channelsLast");

/**
 * The gradient of conv2d(x, filter, strides, pad) with respect to its filter, given dy:
 * dW[kh, kw, c, o] = Σ over b, i, j of x_padded[b, i·sh + kh, j·sw + kw, c] · dy[b, i, j, o].
 * That sum is itself a convolution: of x as [c, H, W, b] (the channels as the batch, the batch as
 * the channels) with dy as an outHeight × outWidth filter [i, j, b, o], dilated by the strides.
 * @param {tf.Tensor4D} x [batch, height, width, inChannels]
 * @param {tf.Tensor4D} dy [batch, outHeight, outWidth, outChannels]
 * @param {number[]} filterShape [filterHeight, filterWidth, inChannels, outChannels]
 * @param {number|number[]} strides
 * @param {"same"|"valid"|number|number[][]} pad
 * @param {string} [dimRoundingMode]
 * @returns {tf.Tensor4D} dW, filterShape
 */
export function conv2dFilterGradient(x, dy, filterShape, strides, pad, dimRoundingMode) {
  const info = convInfo(x.shape, filterShape, strides, pad, dimRoundingMode);
  const { top, left } = info.padInfo;
  const [filterHeight, filterWidth, inChannels, outChannels] = filterShape;
  const { outHeight, outWidth, strideHeight, strideWidth } = info;
  // Padding after, up to the last row and column a window reads; negative where the input has
  // rows no window reads (then the output is larger, and cut).
  const bottom = (outHeight - 1) * strideHeight + filterHeight - x.shape[1] - top;
  const right = (outWidth - 1) * strideWidth + filterWidth - x.shape[2] - left;
  return tf.tidy(() => {
    const input = tf.transpose(x, [3, 1, 2, 0]); // [c, H, W, b]
    const filter = tf.transpose(dy, [1, 2, 0, 3]); // [i, j, b, o]
    const padding = [[0, 0], [top, Math.max(0, bottom)], [left, Math.max(0, right)], [0, 0]];
    let gradient = tf.conv2d(input, filter, 1, padding, "NHWC", [strideHeight, strideWidth]); // [c, kh, kw, o]
    if (bottom < 0 || right < 0) gradient = tf.slice(gradient, 0, [inChannels, filterHeight, filterWidth, outChannels]);
    return tf.transpose(gradient, [1, 2, 0, 3]);
  });
}

// Along one axis of the input gradient: output row i = s·a + p (phase p < s) takes dy[a + e] ·
// W[p + before - s·e] for each e with that filter row inside the filter, e from eMin to eMax.
function phases(filterSize, before, stride, size, outSize) {
  const eMin = Math.ceil((before - filterSize + 1) / stride);
  const taps = Math.floor((stride - 1 + before) / stride) - eMin + 1;
  const blocks = Math.ceil(size / stride); // rows a of each phase
  return { eMin, taps, blocks, padBefore: -eMin, padAfter: blocks + taps - 1 + eMin - outSize };
}

/**
 * The gradient of conv2d(x, filter, strides, pad) with respect to x, given dy, as one stride-1
 * convolution of dy (the sub-pixel form): for a stride s, each of the s × s phases of the input
 * is a convolution of dy with some of the filter's taps, so one filter of ⌈k / s⌉ taps a side
 * with s·s·inChannels outputs computes all of them, and a transpose interleaves the phases. For
 * stride 1 this is the convolution with the flipped filter.
 * @param {tf.Tensor4D} dy [batch, outHeight, outWidth, outChannels]
 * @param {tf.Tensor4D} filter [filterHeight, filterWidth, inChannels, outChannels]
 * @param {number[]} inputShape [batch, height, width, inChannels]
 * @param {number|number[]} strides
 * @param {"same"|"valid"|number|number[][]} pad
 * @param {string} [dimRoundingMode]
 * @returns {tf.Tensor4D} dx, inputShape
 */
export function conv2dInputGradient(dy, filter, inputShape, strides, pad, dimRoundingMode) {
  const [filterHeight, filterWidth, inChannels, outChannels] = filter.shape;
  const info = convInfo(inputShape, filter.shape, strides, pad, dimRoundingMode);
  const { strideHeight: sh, strideWidth: sw, outHeight, outWidth } = info;
  const [batch, height, width] = inputShape;
  const rows = phases(filterHeight, info.padInfo.top, sh, height, outHeight);
  const columns = phases(filterWidth, info.padInfo.left, sw, width, outWidth);
  // Which filter tap (or the zero row, filterHeight · filterWidth) feeds each tap and phase.
  const taps = [];
  for (let tapRow = 0; tapRow < rows.taps; tapRow += 1) {
    for (let tapColumn = 0; tapColumn < columns.taps; tapColumn += 1) {
      for (let phaseRow = 0; phaseRow < sh; phaseRow += 1) {
        for (let phaseColumn = 0; phaseColumn < sw; phaseColumn += 1) {
          const row = phaseRow + info.padInfo.top - sh * (tapRow + rows.eMin);
          const column = phaseColumn + info.padInfo.left - sw * (tapColumn + columns.eMin);
          const inside = row >= 0 && row < filterHeight && column >= 0 && column < filterWidth;
          taps.push(inside ? row * filterWidth + column : filterHeight * filterWidth);
        }
      }
    }
  }
  return tf.tidy(() => {
    const flat = tf.concat([tf.reshape(filter, [filterHeight * filterWidth, -1]), tf.zeros([1, inChannels * outChannels])]);
    const gathered = tf.reshape(tf.gather(flat, tf.tensor1d(taps, "int32")), [rows.taps, columns.taps, sh, sw, inChannels, outChannels]);
    const phaseFilter = tf.reshape(tf.transpose(gathered, [0, 1, 5, 2, 3, 4]), [rows.taps, columns.taps, outChannels, sh * sw * inChannels]);
    let gradient = dy;
    if (rows.padAfter < 0 || columns.padAfter < 0) {
      gradient = tf.slice(gradient, 0, [batch, outHeight + Math.min(0, rows.padAfter), outWidth + Math.min(0, columns.padAfter), outChannels]);
    }
    const padding = [[0, 0], [rows.padBefore, Math.max(0, rows.padAfter)], [columns.padBefore, Math.max(0, columns.padAfter)], [0, 0]];
    gradient = tf.conv2d(gradient, phaseFilter, 1, padding); // [b, blocks, blocks, sh · sw · c]
    if (sh > 1 || sw > 1) {
      gradient = tf.reshape(gradient, [batch, rows.blocks, columns.blocks, sh, sw, inChannels]);
      gradient = tf.reshape(tf.transpose(gradient, [0, 1, 3, 2, 4, 5]), [batch, rows.blocks * sh, columns.blocks * sw, inChannels]);
    }
    if (gradient.shape[1] === height && gradient.shape[2] === width) return gradient;
    return tf.slice(gradient, 0, inputShape);
  });
}

// The engine passes Tensors to a kernel run by an op; a bare TensorInfo is wrapped (and the
// wrapper disposed by the tidy that uses it).
const asTensor = (info) => (info instanceof tf.Tensor ? info : tf.engine().makeTensorFromTensorInfo(info));

let registered = false;

/** Registers both kernels on the "wasm" backend, once; NCHW goes to the backend's own kernel. */
export function registerWasmConvGradients() {
  if (registered) return;
  registered = true;
  const native = tf.getKernel("Conv2DBackpropInput", "wasm");
  if (native) tf.unregisterKernel("Conv2DBackpropInput", "wasm");
  tf.registerKernel({
    kernelName: "Conv2DBackpropInput",
    backendName: "wasm",
    kernelFunc: (args) => {
      const { inputs: { dy, filter }, attrs: { strides, pad, dataFormat, dimRoundingMode, inputShape } } = args;
      if (dataFormat !== "NHWC") {
        if (native) return native.kernelFunc(args);
        throw new Error(`Conv2DBackpropInput on WASM: only NHWC, not ${dataFormat}`);
      }
      return tf.tidy(() => conv2dInputGradient(asTensor(dy), asTensor(filter), inputShape, strides, pad, dimRoundingMode));
    },
  });
  tf.registerKernel({
    kernelName: "Conv2DBackpropFilter",
    backendName: "wasm",
    kernelFunc: ({ inputs: { x, dy }, attrs: { strides, pad, dataFormat, dimRoundingMode, filterShape } }) => {
      if (dataFormat !== "NHWC") throw new Error(`Conv2DBackpropFilter on WASM: only NHWC, not ${dataFormat}`);
      return tf.tidy(() => conv2dFilterGradient(asTensor(x), asTensor(dy), filterShape, strides, pad, dimRoundingMode));
    },
  });
}
