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

// The losses of trainer/train.py, on logits. "bce" is the non-saturating loss: the generator
// maximises log D(G(z)), whose gradient does not vanish early on as log(1 - D(G(z)))'s does.
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
