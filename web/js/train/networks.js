// The GAN families the training page trains. Each builds its generator as a TF.js layers model,
// the part that is saved, downloaded and sampled by index.html, and its discriminator as plain
// variables and a function, since a discriminator is only ever trained. Each is a CLI family
// (trainer/models) with its defaults: on the same weights the same functions, and one step the
// same losses (tests/test_page_parity.py). Both take the image shape from the data: 28 x 28 x 1
// for MNIST, 32 x 32 x 3 for emoji or your own colour images.
import { convolve, dense, glorotUniform, upsampleConv } from "./ops.js";

// Every family's generator opens with a dense layer on these two, concatenated: store.js reads the
// noise size of an old save from that layer's kernel.
function generatorInputs(latentDim, classes) {
  return [tf.input({ shape: [latentDim], name: "latent" }), tf.input({ shape: [classes], name: "label" })];
}

// The SJTU report's MLP CGAN, as trainer/models/cgan.py builds it: one hidden layer of 128 units
// in each network, the one-hot label concatenated to the input, Glorot initialisation.
const cgan = {
  description: "MLP CGAN of the SJTU report (Dense 128 in each network, batch 150)",
  backends: ["wasm", "webgl", "cpu", "webgpu"],
  defaults: { batchSize: 150, learningRate: 1e-3, beta1: 0.5, latentDim: 100, dSteps: 1, gSteps: 1, loss: "bce", classLossWeight: 0, averageDecay: 0 },

  buildGenerator(latentDim, imageShape, classes) {
    const [latent, label] = generatorInputs(latentDim, classes);
    let hidden = tf.layers.concatenate().apply([latent, label]);
    hidden = tf.layers.dense({ units: 128, activation: "relu", kernelInitializer: "glorotUniform" }).apply(hidden);
    const pixels = tf.layers.dense({ units: imageShape.reduce((a, b) => a * b), activation: "tanh", kernelInitializer: "glorotUniform" }).apply(hidden);
    const image = tf.layers.reshape({ targetShape: imageShape }).apply(pixels);
    return tf.model({ inputs: [latent, label], outputs: image, name: "generator" });
  },

  // The layers model's own weights through the fast dense op: the same function, faster gradients.
  generatorForward(generator) {
    const [hidden, output] = generator.layers.filter((layer) => layer.getClassName() === "Dense");
    const shape = generator.outputs[0].shape.slice(1);
    return (latent, label) => {
      const features = dense(tf.concat([latent, label], 1), hidden.kernel.val, hidden.bias.val, "relu");
      return tf.reshape(dense(features, output.kernel.val, output.bias.val, "tanh"), [-1, ...shape]);
    };
  },

  buildDiscriminator(imageShape, classes) {
    const inputs = imageShape.reduce((a, b) => a * b) + classes;
    const variables = [tf.variable(glorotUniform(inputs, 128)), tf.variable(tf.zeros([128])),
      tf.variable(glorotUniform(128, 1)), tf.variable(tf.zeros([1]))];
    const [kernel, bias, outputKernel, outputBias] = variables;
    // `inputGradient`: false in D's own step, whose inputs are data; true in G's, through D.
    const forward = (images, labels, { inputGradient = true } = {}) => {
      const flat = tf.reshape(images, [images.shape[0], -1]);
      const features = dense(tf.concat([flat, labels], 1), kernel, bias, "leakyrelu", { inputGradient });
      return { logits: dense(features, outputKernel, outputBias) };
    };
    return { variables, forward };
  },
};

// A small conditional conv GAN for the browser, as trainer/models/cdcgan_small.py builds it, after
// trainer/models/cdcgan.py: a generator that upsamples then convolves (TF.js runs transposed
// convolutions far slower), a projection discriminator with an auxiliary class head, the hinge
// loss. Half cdcgan's widths and no batch normalisation, so that a step costs as few kernels as it
// can on a software WebGL.
const GENERATOR_CHANNELS = [32, 16];
const DISCRIMINATOR_CHANNELS = [16, 32];
const cdcganSmall = {
  description: "small conditional conv GAN after cdcgan (upsample + convolve, projection discriminator)",
  // On WASM through wasm-conv-grads.js: TF.js 4.22's WASM backend has no Conv2DBackpropFilter.
  backends: ["wasm", "webgl", "cpu", "webgpu"],
  // The CLI's main MNIST recipe without its LeNet features (Adam 1.6e-3 without momentum, 16 noise
  // dimensions, G's weights averaged), chosen with the CLI twin: docs/browser-training.md.
  defaults: { batchSize: 64, learningRate: 1.6e-3, beta1: 0, latentDim: 16, dSteps: 1, gSteps: 1, loss: "hinge", classLossWeight: 1, averageDecay: 0.99 },

  buildGenerator(latentDim, imageShape, classes) {
    const [height, width, channels] = imageShape;
    // Two upsamplings from a quarter of the size, and two stride-2 convolutions down to it.
    if (height % 4 || width % 4) throw new Error(`cdcgan-small needs a height and width divisible by 4, not ${height} x ${width}`);
    const [latent, label] = generatorInputs(latentDim, classes);
    let hidden = tf.layers.concatenate().apply([latent, label]);
    hidden = tf.layers.dense({ units: (height / 4) * (width / 4) * GENERATOR_CHANNELS[0], activation: "relu" }).apply(hidden);
    hidden = tf.layers.reshape({ targetShape: [height / 4, width / 4, GENERATOR_CHANNELS[0]] }).apply(hidden);
    hidden = tf.layers.upSampling2d({ size: [2, 2] }).apply(hidden);
    hidden = tf.layers.conv2d({ filters: GENERATOR_CHANNELS[1], kernelSize: 3, padding: "same", activation: "relu" }).apply(hidden);
    hidden = tf.layers.upSampling2d({ size: [2, 2] }).apply(hidden);
    const image = tf.layers.conv2d({ filters: channels, kernelSize: 3, padding: "same", activation: "tanh" }).apply(hidden);
    return tf.model({ inputs: [latent, label], outputs: image, name: "generator" });
  },

  // The layers model's own weights through faster ops, the same function: the dense layer's fast
  // gradient, and each upsampling with its convolution as one convolution at the lower resolution.
  generatorForward(generator) {
    const [hidden] = generator.layers.filter((layer) => layer.getClassName() === "Dense");
    const convolutions = generator.layers.filter((layer) => layer.getClassName() === "Conv2D");
    const start = generator.layers.find((layer) => layer.getClassName() === "Reshape").targetShape;
    return (latent, label) => {
      const features = dense(tf.concat([latent, label], 1), hidden.kernel.val, hidden.bias.val, "relu");
      let image = tf.reshape(features, [-1, ...start]);
      convolutions.forEach((layer, index) => {
        image = upsampleConv(image, layer.kernel.val, layer.bias.val, index === convolutions.length - 1 ? "tanh" : "relu");
      });
      return image;
    };
  },

  buildDiscriminator(imageShape, classes) {
    const [height, width, channels] = imageShape;
    const [first, second] = DISCRIMINATOR_CHANNELS;
    const features = (height / 4) * (width / 4) * second;
    const conv = (inputs, outputs) => tf.variable(glorotUniform(9 * inputs, 9 * outputs, [3, 3, inputs, outputs]));
    const variables = [conv(channels, first), tf.variable(tf.zeros([first])), conv(first, second), tf.variable(tf.zeros([second])),
      tf.variable(glorotUniform(features, 1)), tf.variable(tf.zeros([1])),
      tf.variable(glorotUniform(classes, features)), // the class embedding of the projection
      tf.variable(glorotUniform(features, classes)), tf.variable(tf.zeros([classes]))]; // the class head
    const [filter1, bias1, filter2, bias2, kernel, bias, embedding, classKernel, classBias] = variables;
    const forward = (images, labels) => {
      const hidden = convolve(convolve(images, filter1, bias1, 2), filter2, bias2, 2);
      const flat = tf.reshape(hidden, [images.shape[0], features]);
      // Projection (Miyato & Koyama 2018): the label enters as <embedding(label), features>.
      const projection = tf.sum(tf.mul(tf.matMul(labels, embedding), flat), 1, true);
      return { logits: tf.add(dense(flat, kernel, bias), projection), classLogits: dense(flat, classKernel, classBias) };
    };
    return { variables, forward };
  },
};

// The first is the page's default: the conv model, the one that reaches the CLI's quality within
// minutes on a CPU (docs/browser-training.md).
export const FAMILIES = { "cdcgan-small": cdcganSmall, cgan };

export function family(name) {
  if (!(name in FAMILIES)) throw new Error(`unknown model ${name}; choose one of: ${Object.keys(FAMILIES).join(", ")}`);
  return FAMILIES[name];
}
