// The few operations the training page builds its networks from, written so that TF.js 4.22's
// backends run their gradients fast.

// The WASM backend's ways round its slow kernels; on WebGL each extra kernel costs a draw call,
// and its matrix product reads a transposed operand as cheaply as a plain one.
const onWasm = () => tf.getBackend() === "wasm";

// A dense layer, activation(x · kernel + bias), with a hand-written gradient on WASM. TF.js's WASM backend
// runs a matrix product with either operand transposed on a slow path, about ten times slower than
// a plain one (2.5 against 25-50 GFLOP/s), and the gradients of x · kernel are two such products;
// transposing first, a cheap copy, keeps all three products on XNNPACK's fast path. With
// `inputGradient` false (the discriminator's first layer in its own step, whose input is data)
// the product for x's gradient is not computed at all.
export function dense(x, kernel, bias, activation = "linear", { inputGradient = true } = {}) {
  if (!onWasm()) {
    const fused = activation === "tanh" ? "linear" : activation;
    return activate(tf.fused.matMul({ a: x, b: kernel, bias, activation: fused, leakyreluAlpha: SLOPES.leakyrelu }), activation);
  }
  if (inputGradient) return denseOp(activation, true)(x, kernel, bias);
  return denseOp(activation, false)(kernel, bias, x);
}

// Each activation's derivative, from its output: `step(value, slope)` for the ReLUs, and tanh's
// 1 - value², since "tanh" here runs as 2 sigmoid(2x) - 1: TF.js's WASM backend computes tanh one
// element at a time (2 ms for a batch of 150 images), the sigmoid vectorised.
const SLOPES = { linear: null, relu: 0, leakyrelu: 0.2, tanh: null };
const denseOps = {};

function activate(value, activation) {
  if (activation !== "tanh") return value;
  return onWasm() ? tf.sub(tf.mul(tf.sigmoid(tf.mul(value, 2)), 2), 1) : tf.tanh(value);
}

// a · b with a or b transposed, as two kernels: a transpose, then a plain product.
function product(a, b, transposeA, transposeB) {
  return tf.matMul(transposeA ? tf.transpose(a) : a, transposeB ? tf.transpose(b) : b);
}

function activationGradient(dy, output, activation) {
  if (activation === "tanh") return tf.mul(dy, tf.sub(1, tf.square(output)));
  const slope = SLOPES[activation];
  return slope === null ? dy : tf.mul(dy, tf.step(output, slope));
}

function denseOp(activation, inputGradient) {
  if (!(activation in SLOPES)) throw new Error(`dense: unknown activation ${activation}`);
  const key = `${activation}/${inputGradient}`;
  denseOps[key] ??= tf.customGrad((...args) => {
    const [x, kernel, bias, save] = inputGradient ? args : [args[2], args[0], args[1], args[3]];
    const fused = activation === "tanh" ? "linear" : activation;
    const value = activate(tf.fused.matMul({ a: x, b: kernel, bias, activation: fused, leakyreluAlpha: SLOPES.leakyrelu }), activation);
    save([x, kernel, value]);
    const gradFunc = (dy, [input, weights, output]) => {
      const local = activationGradient(dy, output, activation);
      const gradients = [product(input, local, true, false), tf.sum(local, 0)];
      return inputGradient ? [product(local, weights, false, true), ...gradients] : [...gradients, tf.zerosLike(input)];
    };
    return { value, gradFunc };
  });
  return denseOps[key];
}

export function glorotUniform(fanIn, fanOut, shape = [fanIn, fanOut]) {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  return tf.randomUniform(shape, -limit, limit);
}

// A convolution with bias and leaky ReLU (TF.js's fused convolution has no gradient for it).
export function convolve(x, filter, bias, strides) {
  return tf.leakyRelu(tf.add(tf.conv2d(x, filter, strides, "same"), bias), SLOPES.leakyrelu);
}

// Which row of a 3 x 3 filter at low resolution each row of a 3 x 3 filter after a nearest-neighbour
// upsampling by 2 lands on, per output phase: [phase, low-resolution row, filter row], as a 6 x 3
// matrix. Output row 2a + p reads upsampled rows 2a + p - 1 … 2a + p + 1, i.e. input rows a - 1,
// a, a for p = 0 and a, a, a + 1 for p = 1.
const PHASE_TAPS = [[1, 0, 0], [0, 1, 1], [0, 0, 0], [0, 0, 0], [1, 1, 0], [0, 0, 1]];

/**
 * conv2d(upsample2(x), kernel, 1, "same") + bias, then the activation: what a layers model's
 * UpSampling2D (nearest, 2 x 2) and Conv2D (3 x 3, "same") compute, computed as one convolution at
 * the input's resolution with 4 outputs per channel, one per output phase, interleaved by a
 * transpose, as the CLI's NearestUpsamplingConv2D (trainer/models/layers.py) computes it. The same
 * products on inputs a quarter the size, and neither the upsampling nor its gradient (TF.js 4.22's
 * CPU ResizeNearestNeighborGrad is wrong for more than one image or channel); a convolution to one
 * channel, XNNPACK's slowest shape, becomes one to four. 2.5 times faster on WASM, forward and back.
 * @param {tf.Tensor4D} x [batch, height, width, inChannels]
 * @param {tf.Tensor4D} kernel [3, 3, inChannels, outChannels]
 * @param {tf.Tensor1D} bias [outChannels]
 * @param {"relu"|"tanh"} activation
 * @returns {tf.Tensor4D} [batch, 2 height, 2 width, outChannels]
 */
export function upsampleConv(x, kernel, bias, activation) {
  const [, , inChannels, outChannels] = kernel.shape;
  const [batch, height, width] = x.shape;
  const taps = tf.tensor2d(PHASE_TAPS);
  // [filter row, rest] -> [row phase, low row, filter column, in, out] -> [column phase, low column, ...]
  let filter = tf.matMul(taps, tf.reshape(kernel, [3, -1]));
  filter = tf.transpose(tf.reshape(filter, [6, 3, inChannels * outChannels]), [1, 0, 2]);
  filter = tf.reshape(tf.matMul(taps, tf.reshape(filter, [3, -1])), [2, 3, 2, 3, inChannels, outChannels]); // [q, tx, p, ty, c, o]
  filter = tf.reshape(tf.transpose(filter, [3, 1, 4, 2, 0, 5]), [3, 3, inChannels, 4 * outChannels]); // [ty, tx, c, (p, q, o)]
  let phases = tf.add(tf.conv2d(x, filter, 1, "same"), tf.tile(bias, [4]));
  phases = activation === "relu" ? tf.relu(phases) : activate(phases, activation);
  phases = tf.transpose(tf.reshape(phases, [batch, height, width, 2, 2, outChannels]), [0, 1, 3, 2, 4, 5]);
  return tf.reshape(phases, [batch, 2 * height, 2 * width, outChannels]);
}

// The losses of trainer/steps.py (its LOSSES), on logits. "bce" is the non-saturating loss: the
// generator maximises log D(G(z)), whose gradient does not vanish early on as log(1 - D(G(z)))'s
// does.
export const LOSSES = {
  bce: {
    discriminator: (real, fake) => tf.add(tf.mean(tf.softplus(tf.neg(real))), tf.mean(tf.softplus(fake))),
    generator: (fake) => tf.mean(tf.softplus(tf.neg(fake))),
  },
  hinge: {
    discriminator: (real, fake) => tf.add(tf.mean(tf.relu(tf.sub(1, real))), tf.mean(tf.relu(tf.add(1, fake)))),
    generator: (fake) => tf.neg(tf.mean(fake)),
  },
};

export function classLoss(logits, labels) {
  return tf.losses.softmaxCrossEntropy(labels, logits);
}
